//! Early refusals: a response given before the request body was read (401, 413, 415, 429, 503 from a
//! layer or an extractor) leaves the body's bytes on the connection. hyper then gives up on the
//! connection once the response is written — and when it notices only after the response head went
//! out, without `Connection: close` — so a keep-alive client that reuses the connection, or whose
//! unread bytes make the kernel answer with a reset, loses its answer and cannot tell whether its
//! write happened.
//!
//! Every request body is therefore lent to the application ([`LentBody`]); what the application
//! drops unread comes back here, and [`Unread::settle`] decides: a small rest (known to be at most
//! [`DRAIN_MAX_BYTES`]) is read and discarded in the background for at most [`DRAIN_TIMEOUT`] while
//! the response goes out, so the connection stays usable; anything else (a larger or unknown
//! length, a client waiting for `100 Continue`, a 408 for a body that came too slowly) is answered
//! with `Connection: close`, which the client sees before the connection ends.
//!
//! This module knows nothing about routes or statuses other than 408.

use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::http::{HeaderValue, Request, Response, StatusCode, header};
use hyper::body::{Body as HttpBody, Bytes, Frame, Incoming, SizeHint};

/// The most an early refusal reads and discards to keep its connection open.
pub const DRAIN_MAX_BYTES: u64 = 64 * 1024;
/// How long the discarding may take; a client still sending after it loses the connection.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Where a lent body goes when the application drops it unfinished.
#[derive(Clone, Default)]
pub struct Returned(Arc<Mutex<Option<Incoming>>>);

impl Returned {
    fn put(&self, body: Incoming) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(body);
    }

    fn take(&self) -> Option<Incoming> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// What [`Unread::settle`] needs to know about a request once the application answered it.
pub struct Unread {
    returned: Returned,
    expects_continue: bool,
}

/// Lend `req`'s body to the application.
pub fn lend(req: Request<Incoming>) -> (Request<LentBody>, Unread) {
    let expects_continue =
        req.headers().get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let returned = Returned::default();
    let back = returned.clone();
    let request = req.map(|body| LentBody { body: Some(body), ended: false, back });
    (request, Unread { returned, expects_continue })
}

/// The request body the application reads: hyper's, handed back on drop when unfinished.
pub struct LentBody {
    body: Option<Incoming>,
    ended: bool,
    back: Returned,
}

impl HttpBody for LentBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = &mut *self;
        let Some(body) = this.body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            this.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.body.as_ref().is_none_or(HttpBody::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.body.as_ref().map_or_else(|| SizeHint::with_exact(0), HttpBody::size_hint)
    }
}

impl Drop for LentBody {
    fn drop(&mut self) {
        if let Some(body) = self.body.take()
            && !self.ended
            && !body.is_end_stream()
        {
            self.back.put(body);
        }
    }
}

impl Unread {
    /// After the application answered `resp`: the unread rest of the request body to discard in
    /// the background, or `None` (nothing was left, or `resp` now carries `Connection: close`).
    pub fn settle<B>(self, resp: &mut Response<B>) -> Option<Incoming> {
        let rest = self.returned.take()?;
        let small = rest.size_hint().upper().is_some_and(|n| n <= DRAIN_MAX_BYTES);
        if small && !self.expects_continue && resp.status() != StatusCode::REQUEST_TIMEOUT {
            return Some(rest);
        }
        resp.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
        None
    }
}

/// Read and discard `rest`: at most [`DRAIN_MAX_BYTES`], within [`DRAIN_TIMEOUT`]. Dropping it
/// unfinished makes hyper close the connection after the response.
pub async fn discard(mut rest: Incoming) {
    let read_to_end = async {
        let mut seen = 0u64;
        while let Some(frame) = std::future::poll_fn(|cx| Pin::new(&mut rest).poll_frame(cx)).await {
            let Ok(frame) = frame else { return };
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_MAX_BYTES {
                return;
            }
        }
    };
    let _ = tokio::time::timeout(DRAIN_TIMEOUT, read_to_end).await;
}
