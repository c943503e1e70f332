//! Connections that end when they stall: one that moves no byte either way for its idle
//! deadline (`app::config::CONNECTION_IDLE_DEADLINE`) is closed, so that a client that stops reading a download, sends half a
//! request, or keeps an idle connection open holds no socket, task or buffer for longer.
//! Every request's own work (a page, a batch, a page of an export) moves bytes well
//! within it.

use axum::serve::{ListenerExt, TapIo};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::{Instant, Sleep};

/// A TCP listener whose connections carry an idle deadline.
pub struct Listener {
    tcp: TcpListener,
    idle: Duration,
}

/// What `axum::serve` takes: axum gives a request the peer's `SocketAddr`
/// (`ConnectInfo`) through `TapIo` for any listener, and for no other wrapper of ours.
pub type Serving = TapIo<Listener, fn(&mut IdleDeadline<TcpStream>)>;

impl Listener {
    pub fn new(tcp: TcpListener, idle: Duration) -> Listener {
        Listener { tcp, idle }
    }

    /// Ready for `axum::serve(…, router.into_make_service_with_connect_info::<SocketAddr>())`.
    pub fn serving(self) -> Serving {
        fn as_accepted(_: &mut IdleDeadline<TcpStream>) {}
        self.tap_io(as_accepted as fn(&mut IdleDeadline<TcpStream>))
    }
}

impl axum::serve::Listener for Listener {
    type Io = IdleDeadline<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let (stream, peer) = axum::serve::Listener::accept(&mut self.tcp).await;
        (IdleDeadline::new(stream, self.idle), peer)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.tcp.local_addr()
    }
}

/// A stream that fails its pending read or write once no byte has moved either way for
/// `idle`: the server then closes the connection.
pub struct IdleDeadline<T> {
    io: T,
    idle: Duration,
    last_moved: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleDeadline<T> {
    pub fn new(io: T, idle: Duration) -> IdleDeadline<T> {
        let now = Instant::now();
        IdleDeadline {
            io,
            idle,
            last_moved: now,
            timer: Box::pin(tokio::time::sleep_until(now + idle)),
        }
    }

    fn moved(&mut self) {
        self.last_moved = Instant::now();
    }

    /// For a read or write that is pending: the error once the deadline has passed, else
    /// the task woken when it passes (the timer is moved only when it must be).
    fn stalled(&mut self, cx: &mut Context<'_>) -> Option<io::Error> {
        let deadline = self.last_moved + self.idle;
        if self.timer.deadline() != deadline {
            self.timer.as_mut().reset(deadline);
        }
        match self.timer.as_mut().poll(cx) {
            Poll::Ready(()) => Some(io::Error::new(
                io::ErrorKind::TimedOut,
                format!("no byte moved for {} s", self.idle.as_secs_f64()),
            )),
            Poll::Pending => None,
        }
    }

    /// `result` of a read or write that moved `moved` bytes, or the deadline's error.
    fn pass<R>(
        &mut self,
        cx: &mut Context<'_>,
        result: Poll<io::Result<R>>,
        moved: bool,
    ) -> Poll<io::Result<R>> {
        match result {
            Poll::Pending => match self.stalled(cx) {
                Some(error) => Poll::Ready(Err(error)),
                None => Poll::Pending,
            },
            Poll::Ready(result) => {
                if moved {
                    self.moved();
                }
                Poll::Ready(result)
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleDeadline<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.io).poll_read(cx, buf);
        let moved = buf.filled().len() > before;
        this.pass(cx, result, moved)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleDeadline<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write(cx, buf);
        let moved = matches!(result, Poll::Ready(Ok(n)) if n > 0);
        this.pass(cx, result, moved)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_write_vectored(cx, bufs);
        let moved = matches!(result, Poll::Ready(Ok(n)) if n > 0);
        this.pass(cx, result, moved)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_flush(cx);
        this.pass(cx, result, false)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.io).poll_shutdown(cx);
        this.pass(cx, result, false)
    }
}
