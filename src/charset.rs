//! Client character sets. Backend connections always speak utf8mb4; a client connected with
//! another character set (from its handshake, `SET NAMES`, `SET CHARACTER SET`,
//! `character_set_client` / `character_set_results`) has its text decoded to UTF-8 before
//! the proxy parses and routes it, and its results encoded back as MariaDB would send them
//! (characters the client's set lacks become `?`).

use std::borrow::Cow;

/// The character sets a client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Charset {
    #[default]
    Utf8mb4,
    Utf8mb3,
    /// MariaDB's latin1 is Windows-1252.
    Latin1,
    Binary,
}

impl Charset {
    /// The character set of a collation id (as a client names it in its handshake).
    pub fn from_collation_id(id: u16) -> Charset {
        match id {
            5 | 8 | 15 | 31 | 47 | 48 | 49 | 94 | 1032 | 1055 | 1071 | 1118 => Charset::Latin1,
            33 | 83 | 192..=215 | 223 | 576..=579 | 1057 | 1107 => Charset::Utf8mb3,
            63 => Charset::Binary,
            _ => Charset::Utf8mb4,
        }
    }

    /// A character set by name (`latin1`, `utf8mb4`, `utf8`, `utf8mb3`, `binary`); `None`
    /// for the ones the proxy does not convert.
    pub fn from_name(name: &str) -> Option<Charset> {
        let n = name
            .trim()
            .trim_matches(['\'', '"', '`'])
            .to_ascii_lowercase();
        Some(match n.as_str() {
            "utf8mb4" => Charset::Utf8mb4,
            "utf8" | "utf8mb3" => Charset::Utf8mb3,
            "latin1" => Charset::Latin1,
            "binary" => Charset::Binary,
            // ASCII text is the same in UTF-8.
            "ascii" => Charset::Utf8mb4,
            _ => return None,
        })
    }

    /// The name a backend connection is given for it: utf8mb4 for every set the proxy
    /// converts itself.
    pub fn backend_name(self) -> &'static str {
        match self {
            Charset::Utf8mb3 => "utf8mb3",
            Charset::Binary => "binary",
            _ => "utf8mb4",
        }
    }

    /// The default collation id (what result metadata says).
    pub fn collation_id(self) -> u16 {
        match self {
            Charset::Utf8mb4 => 45,
            Charset::Utf8mb3 => 33,
            Charset::Latin1 => 8,
            Charset::Binary => 63,
        }
    }

    /// Bytes per character at most.
    pub fn max_len(self) -> u32 {
        match self {
            Charset::Utf8mb4 => 4,
            Charset::Utf8mb3 => 3,
            Charset::Latin1 | Charset::Binary => 1,
        }
    }

    /// Whether the proxy converts text for this set (UTF-8 sets and binary pass through).
    pub fn converts(self) -> bool {
        self == Charset::Latin1
    }

    /// The client's bytes as text.
    pub fn decode(self, bytes: &[u8]) -> Cow<'_, str> {
        match self {
            Charset::Latin1 => {
                encoding_rs::WINDOWS_1252
                    .decode_without_bom_handling(bytes)
                    .0
            }
            _ => String::from_utf8_lossy(bytes),
        }
    }

    /// UTF-8 text in this set; characters it lacks become `?`, as MariaDB converts them.
    pub fn encode(self, utf8: &[u8]) -> Cow<'_, [u8]> {
        if self != Charset::Latin1 || utf8.is_ascii() {
            return Cow::Borrowed(utf8);
        }
        let text = String::from_utf8_lossy(utf8);
        let mut out = Vec::with_capacity(text.len());
        for c in text.chars() {
            if (c as u32) < 0x80 {
                out.push(c as u8);
                continue;
            }
            let mut buf = [0u8; 4];
            let s = c.encode_utf8(&mut buf);
            let (bytes, _, unmappable) = encoding_rs::WINDOWS_1252.encode(s);
            if unmappable || bytes.len() != 1 {
                out.push(b'?');
            } else {
                out.push(bytes[0]);
            }
        }
        Cow::Owned(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_round_trip_and_unmappable_characters() {
        let latin1 = b"caf\xe9 \x80 \x9f";
        let text = Charset::Latin1.decode(latin1);
        assert_eq!(text, "café € Ÿ");
        assert_eq!(Charset::Latin1.encode(text.as_bytes()).as_ref(), latin1);
        assert_eq!(Charset::Latin1.encode("中🎉x".as_bytes()).as_ref(), b"??x");
        assert_eq!(Charset::from_collation_id(8), Charset::Latin1);
        assert_eq!(Charset::from_collation_id(45), Charset::Utf8mb4);
        assert_eq!(Charset::from_name("LATIN1"), Some(Charset::Latin1));
    }
}
