//! The proxy's client sessions as operators see them (`SHOW PROCESSLIST`) and reach them
//! (`KILL`): one entry per connection, removed when the connection's task ends, however it
//! ends.

use crate::backend::{Interrupt, Scope};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

/// Longest statement text kept for `SHOW FULL PROCESSLIST`.
const MAX_INFO: usize = 4096;

/// One client session.
pub struct SessionInfo {
    pub id: u32,
    pub connected: Instant,
    /// Its statements' interrupt signal and backend threads.
    pub scope: Arc<Scope>,
    user: Mutex<String>,
    host: Mutex<String>,
    db: Mutex<Option<String>>,
    /// The running statement's text (None: sleeping), and since when in that state.
    current: Mutex<(Option<String>, Instant)>,
    killed: watch::Sender<bool>,
}

/// A row of `SHOW PROCESSLIST`.
pub struct ProcessRow {
    pub id: u32,
    pub user: String,
    pub host: String,
    pub db: Option<String>,
    /// `Query` while a statement runs, else `Sleep`.
    pub command: &'static str,
    /// Seconds in the current state.
    pub time: u64,
    pub info: Option<String>,
    pub backends: Vec<String>,
}

impl SessionInfo {
    pub fn user(&self) -> String {
        self.user.lock().map(|u| u.clone()).unwrap_or_default()
    }

    pub fn set_user(&self, user: &str) {
        if let Ok(mut u) = self.user.lock() {
            *u = user.to_string();
        }
    }

    pub fn set_host(&self, host: &str) {
        if let Ok(mut h) = self.host.lock() {
            *h = host.to_string();
        }
    }

    pub fn set_db(&self, db: Option<&str>) {
        if let Ok(mut d) = self.db.lock() {
            *d = db.map(str::to_string);
        }
    }

    /// A statement starts (its text, at most [`MAX_INFO`] bytes, is shown).
    pub fn begin(&self, text: &str) {
        let mut end = text.len().min(MAX_INFO);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        if let Ok(mut c) = self.current.lock() {
            *c = (Some(text[..end].to_string()), Instant::now());
        }
    }

    pub fn end(&self) {
        if let Ok(mut c) = self.current.lock() {
            *c = (None, Instant::now());
        }
    }

    /// Stop the running statement (`KILL QUERY`).
    pub fn kill_query(&self) {
        self.scope.interrupt(Interrupt::Killed);
    }

    /// Stop the running statement and close the connection (`KILL`).
    pub fn kill_connection(&self) {
        self.kill_query();
        self.killed.send_replace(true);
    }

    /// Turns true when the connection is to be closed.
    pub fn killed(&self) -> watch::Receiver<bool> {
        self.killed.subscribe()
    }

    pub fn row(&self, full: bool) -> ProcessRow {
        let (current, since) = self
            .current
            .lock()
            .map(|c| c.clone())
            .unwrap_or((None, self.connected));
        let (command, since, info) = match current {
            Some(text) => {
                let info = if full {
                    text
                } else {
                    text.chars().take(100).collect()
                };
                ("Query", since, Some(info))
            }
            None => ("Sleep", since, None),
        };
        ProcessRow {
            id: self.id,
            user: self.user(),
            host: self.host.lock().map(|h| h.clone()).unwrap_or_default(),
            db: self.db.lock().ok().and_then(|d| d.clone()),
            command,
            time: since.elapsed().as_secs(),
            info,
            backends: self.scope.threads(),
        }
    }
}

/// All sessions of one proxy.
#[derive(Default)]
pub struct Sessions {
    map: Mutex<BTreeMap<u32, Arc<SessionInfo>>>,
}

/// A session's entry; dropping it removes the entry.
pub struct Registration {
    sessions: Arc<Sessions>,
    pub info: Arc<SessionInfo>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Ok(mut m) = self.sessions.map.lock() {
            m.remove(&self.info.id);
        }
    }
}

impl Sessions {
    pub fn register(self: &Arc<Self>, id: u32, user: &str, host: &str) -> Registration {
        let info = Arc::new(SessionInfo {
            id,
            connected: Instant::now(),
            scope: Scope::new(),
            user: Mutex::new(user.to_string()),
            host: Mutex::new(host.to_string()),
            db: Mutex::new(None),
            current: Mutex::new((None, Instant::now())),
            killed: watch::channel(false).0,
        });
        if let Ok(mut m) = self.map.lock() {
            m.insert(id, info.clone());
        }
        Registration {
            sessions: self.clone(),
            info,
        }
    }

    pub fn get(&self, id: u32) -> Option<Arc<SessionInfo>> {
        self.map.lock().ok()?.get(&id).cloned()
    }

    /// Every session, by id.
    pub fn all(&self) -> Vec<Arc<SessionInfo>> {
        self.map
            .lock()
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default()
    }

    pub fn len(&self) -> usize {
        self.map.lock().map(|m| m.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_go_with_their_registration() {
        let s = Arc::new(Sessions::default());
        let a = s.register(1, "root", "localhost");
        let b = s.register(2, "app", "10.0.0.1");
        assert_eq!(s.len(), 2);
        b.info.begin("SELECT SLEEP(10)");
        let row = s.get(2).map(|i| i.row(false));
        assert_eq!(row.as_ref().map(|r| r.command), Some("Query"));
        assert_eq!(
            row.and_then(|r| r.info).as_deref(),
            Some("SELECT SLEEP(10)")
        );
        drop(b);
        assert!(s.get(2).is_none());
        assert_eq!(s.all().len(), 1);
        drop(a);
        assert!(s.is_empty());
    }

    #[test]
    fn long_statements_are_cut_at_a_char_boundary() {
        let s = Arc::new(Sessions::default());
        let r = s.register(1, "u", "h");
        let text = "é".repeat(MAX_INFO);
        r.info.begin(&text);
        let info = r.info.row(true).info.unwrap_or_default();
        assert!(info.len() <= MAX_INFO && info.chars().all(|c| c == 'é'));
        assert_eq!(r.info.row(false).info.map(|i| i.chars().count()), Some(100));
    }
}
