//! Packet framing on a backend connection: 3-byte length, sequence id, 16 MiB continuation
//! frames. Packets are handed out as `Bytes` split off the read buffer, so row cells can be
//! sliced out of them without copying.

use bytes::{Buf, Bytes, BytesMut};
use std::io;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const MAX_FRAME: usize = 0xFF_FFFF;

pub(super) struct Framed {
    stream: TcpStream,
    rbuf: BytesMut,
    wbuf: Vec<u8>,
    seq: u8,
    /// Largest logical packet accepted from the server (a corrupt length must not make the
    /// proxy allocate gigabytes).
    max_packet: usize,
}

impl Framed {
    pub fn new(stream: TcpStream, max_packet: usize) -> Framed {
        Framed {
            stream,
            rbuf: BytesMut::with_capacity(16 * 1024),
            wbuf: Vec::with_capacity(1024),
            seq: 0,
            max_packet,
        }
    }

    /// A new command starts at sequence id 0.
    pub fn reset_seq(&mut self) {
        self.seq = 0;
    }

    /// Queue one packet (split into frames as needed).
    pub fn write_packet(&mut self, payload: &[u8]) {
        let mut rest = payload;
        loop {
            let n = rest.len().min(MAX_FRAME);
            let len = (n as u32).to_le_bytes();
            self.wbuf
                .extend_from_slice(&[len[0], len[1], len[2], self.seq]);
            self.wbuf.extend_from_slice(&rest[..n]);
            self.seq = self.seq.wrapping_add(1);
            rest = &rest[n..];
            if n < MAX_FRAME {
                break;
            }
        }
    }

    /// Queue a command packet: the command byte and its body, sequence id 0.
    pub fn write_command(&mut self, cmd: u8, body: &[u8]) {
        self.reset_seq();
        if body.len() + 1 < MAX_FRAME {
            let len = ((body.len() + 1) as u32).to_le_bytes();
            self.wbuf
                .extend_from_slice(&[len[0], len[1], len[2], 0, cmd]);
            self.wbuf.extend_from_slice(body);
            self.seq = 1;
        } else {
            let mut p = Vec::with_capacity(body.len() + 1);
            p.push(cmd);
            p.extend_from_slice(body);
            self.write_packet(&p);
        }
    }

    pub async fn flush(&mut self) -> io::Result<()> {
        if !self.wbuf.is_empty() {
            let r = self.stream.write_all(&self.wbuf).await;
            self.wbuf.clear();
            if self.wbuf.capacity() > 1 << 20 {
                self.wbuf.shrink_to(4096);
            }
            r?;
        }
        Ok(())
    }

    /// Read one logical packet.
    pub async fn read_packet(&mut self) -> io::Result<Bytes> {
        let first = self.read_frame().await?;
        if first.len() < MAX_FRAME {
            return Ok(first);
        }
        let mut whole = BytesMut::from(&first[..]);
        loop {
            let next = self.read_frame().await?;
            whole.extend_from_slice(&next);
            if whole.len() > self.max_packet {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "packet from the server exceeds max_allowed_packet",
                ));
            }
            if next.len() < MAX_FRAME {
                return Ok(whole.freeze());
            }
        }
    }

    async fn read_frame(&mut self) -> io::Result<Bytes> {
        while self.rbuf.len() < 4 {
            self.fill().await?;
        }
        let len = u32::from_le_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], 0]) as usize;
        let seq = self.rbuf[3];
        if len > self.max_packet {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "packet from the server exceeds max_allowed_packet",
            ));
        }
        if self.rbuf.len() < 4 + len {
            self.rbuf.reserve(4 + len - self.rbuf.len());
            while self.rbuf.len() < 4 + len {
                self.fill().await?;
            }
        }
        self.rbuf.advance(4);
        self.seq = seq.wrapping_add(1);
        Ok(self.rbuf.split_to(len).freeze())
    }

    async fn fill(&mut self) -> io::Result<()> {
        if self.rbuf.capacity() - self.rbuf.len() < 4096 {
            self.rbuf.reserve(16 * 1024);
        }
        if self.stream.read_buf(&mut self.rbuf).await? == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the server closed the connection",
            ));
        }
        Ok(())
    }

    /// Whether the idle connection still looks usable: nothing to read (a closed socket
    /// reads as end of file, and a server that gave up on us may have sent an error first).
    pub fn idle_ok(&mut self) -> bool {
        if !self.rbuf.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    pub fn stream(&self) -> &TcpStream {
        &self.stream
    }
}
