//! MySQL packet framing: 3-byte length, 1-byte sequence id, 16 MiB splitting.
//! Writes are buffered; callers flush once per response.

use bytes::{Buf, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

pub const MAX_PAYLOAD: usize = 0xFF_FFFF;
/// Upper bound for one logical client packet (MariaDB's largest max_allowed_packet).
pub const MAX_CLIENT_PACKET: usize = 1 << 30;

/// The error of a packet longer than the limit ([`PacketIo::set_max_packet`]); its payload
/// is never read into memory.
#[derive(Debug)]
pub struct PacketTooLarge;

impl std::fmt::Display for PacketTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Got a packet bigger than 'max_allowed_packet' bytes")
    }
}

impl std::error::Error for PacketTooLarge {}

/// Whether an I/O error is [`PacketTooLarge`].
pub fn is_too_large(e: &std::io::Error) -> bool {
    e.get_ref().is_some_and(|x| x.is::<PacketTooLarge>())
}

pub struct PacketIo<S> {
    stream: S,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    seq: u8,
    max_packet: usize,
}

impl<S: AsyncRead + AsyncWrite + Unpin> PacketIo<S> {
    pub fn new(stream: S) -> Self {
        PacketIo {
            stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            wbuf: Vec::with_capacity(16 * 1024),
            seq: 0,
            max_packet: MAX_CLIENT_PACKET,
        }
    }

    /// Largest logical packet accepted (max_allowed_packet); a longer one is refused from its
    /// header on, before its payload is read.
    pub fn set_max_packet(&mut self, max: usize) {
        self.max_packet = max.clamp(1024, MAX_CLIENT_PACKET);
    }

    pub fn get_mut(&mut self) -> &mut S {
        &mut self.stream
    }

    pub fn get_ref(&self) -> &S {
        &self.stream
    }

    /// The stream and the next sequence id, to wrap the stream (TLS) and go on with
    /// [`PacketIo::resume`]. Nothing may be buffered: see [`PacketIo::read_packet_exact`].
    pub fn into_parts(self) -> (S, u8) {
        debug_assert!(self.rbuf.is_empty() && self.wbuf.is_empty());
        (self.stream, self.seq)
    }

    /// Go on over `stream` with sequence id `seq`.
    pub fn resume(stream: S, seq: u8) -> Self {
        let mut io = PacketIo::new(stream);
        io.seq = seq;
        io
    }

    /// Read one packet of at most `max` bytes without reading ahead (what follows it, such
    /// as a TLS ClientHello after an SSLRequest, stays in the socket). `None` on clean EOF.
    pub async fn read_packet_exact(&mut self, max: usize) -> std::io::Result<Option<Vec<u8>>> {
        if !self.rbuf.is_empty() {
            return self.read_packet().await;
        }
        let mut head = [0u8; 4];
        let mut got = 0;
        while got < 4 {
            let n = self.stream.read(&mut head[got..]).await?;
            if n == 0 {
                if got == 0 {
                    return Ok(None);
                }
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            got += n;
        }
        let len = u32::from_le_bytes([head[0], head[1], head[2], 0]) as usize;
        if len > max {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "handshake packet too large",
            ));
        }
        let mut payload = vec![0u8; len];
        self.stream.read_exact(&mut payload).await?;
        self.seq = head[3].wrapping_add(1);
        Ok(Some(payload))
    }

    /// Reset the sequence id (a new command starts at 0).
    pub fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Read one logical packet (joining 16 MiB continuation frames). `None` on clean EOF.
    pub async fn read_packet(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut payload: Vec<u8> = Vec::new();
        loop {
            while self.rbuf.len() < 4 {
                if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                    if self.rbuf.is_empty() && payload.is_empty() {
                        return Ok(None);
                    }
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            let len = u32::from_le_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], 0]) as usize;
            let seq = self.rbuf[3];
            if payload.len() + len > self.max_packet {
                self.seq = seq.wrapping_add(1);
                self.rbuf = BytesMut::with_capacity(16 * 1024);
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    PacketTooLarge,
                ));
            }
            while self.rbuf.len() < 4 + len {
                self.rbuf.reserve(4 + len - self.rbuf.len());
                if self.stream.read_buf(&mut self.rbuf).await? == 0 {
                    return Err(std::io::ErrorKind::UnexpectedEof.into());
                }
            }
            self.rbuf.advance(4);
            payload.extend_from_slice(&self.rbuf[..len]);
            self.rbuf.advance(len);
            self.seq = seq.wrapping_add(1);
            if len < MAX_PAYLOAD {
                // Give back what a big packet made the read buffer grow to.
                if self.rbuf.capacity() > 1 << 20 && self.rbuf.len() < 16 * 1024 {
                    let rest = BytesMut::from(&self.rbuf[..]);
                    self.rbuf = BytesMut::with_capacity(16 * 1024);
                    self.rbuf.extend_from_slice(&rest);
                }
                return Ok(Some(payload));
            }
        }
    }

    /// Queue one logical packet (split into frames as needed).
    pub fn write_packet(&mut self, payload: &[u8]) {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_PAYLOAD);
            let len = (n as u32).to_le_bytes();
            self.wbuf
                .extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            self.wbuf.extend_from_slice(&rest[..n]);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_PAYLOAD {
                break;
            }
        }
    }

    /// Queue a packet built by `f` directly into the write buffer (no intermediate allocation
    /// for packets under 16 MiB).
    pub fn write_with(&mut self, f: impl FnOnce(&mut Vec<u8>)) {
        let start = self.wbuf.len();
        self.wbuf.extend_from_slice(&[0, 0, 0, 0]);
        f(&mut self.wbuf);
        let len = self.wbuf.len() - start - 4;
        if len < MAX_PAYLOAD {
            let l = (len as u32).to_le_bytes();
            self.wbuf[start..start + 4].copy_from_slice(&[l[0], l[1], l[2], self.seq]);
            self.seq = self.seq.wrapping_add(1);
        } else {
            let payload = self.wbuf.split_off(start + 4);
            self.wbuf.truncate(start);
            self.write_packet(&payload);
        }
    }

    pub fn buffered(&self) -> usize {
        self.wbuf.len()
    }

    pub async fn flush(&mut self) -> std::io::Result<()> {
        if !self.wbuf.is_empty() {
            self.stream.write_all(&self.wbuf).await?;
            self.wbuf.clear();
            if self.wbuf.capacity() > 1 << 20 {
                self.wbuf.shrink_to(64 * 1024);
            }
        }
        self.stream.flush().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn roundtrip_small_and_split_packets() {
        let (a, b) = tokio::io::duplex(64 << 20);
        let mut w = PacketIo::new(a);
        let mut r = PacketIo::new(b);
        let big = vec![7u8; MAX_PAYLOAD + 10];
        w.write_packet(b"hello");
        w.write_with(|buf| buf.extend_from_slice(&big));
        w.write_packet(&[]);
        w.flush().await.unwrap();
        assert_eq!(r.read_packet().await.unwrap().unwrap(), b"hello");
        assert_eq!(r.read_packet().await.unwrap().unwrap().len(), big.len());
        assert_eq!(r.read_packet().await.unwrap().unwrap(), b"");
        drop(w);
        assert!(r.read_packet().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn oversized_packets_are_refused_from_their_header() {
        let (a, b) = tokio::io::duplex(1 << 16);
        let mut w = PacketIo::new(a);
        let mut r = PacketIo::new(b);
        r.set_max_packet(4096);
        // Announce 16 MiB but send only a little: the reader must not wait for (or buffer) it.
        w.get_mut()
            .write_all(&[0xff, 0xff, 0xff, 0, 3, 1, 2])
            .await
            .unwrap();
        let e = r.read_packet().await.unwrap_err();
        assert!(is_too_large(&e), "{e}");
    }

    #[tokio::test]
    async fn exact_read_leaves_the_rest_in_the_stream() {
        let (a, b) = tokio::io::duplex(1024);
        let mut w = PacketIo::new(a);
        let mut r = PacketIo::new(b);
        w.write_packet(b"first");
        w.write_packet(b"second");
        w.flush().await.unwrap();
        assert_eq!(r.read_packet_exact(64).await.unwrap().unwrap(), b"first");
        let (stream, seq) = r.into_parts();
        assert_eq!(seq, 1);
        let mut r = PacketIo::resume(stream, seq);
        assert_eq!(r.read_packet().await.unwrap().unwrap(), b"second");
        w.write_packet(&[0u8; 100]);
        w.flush().await.unwrap();
        assert!(r.read_packet_exact(10).await.is_err());
    }
}
