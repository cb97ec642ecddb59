//! The one limit on what a server can make the plugin hold: [`ANSWER_LIMIT`]
//! decompressed bytes for every answer read whole or decoded as it streams
//! (Kubernetes lists, gets, `pods/log`, anything through the service proxy),
//! and for every single line of a watch stream; Prometheus and Loki answers
//! are then read up to the smaller [`HTTP_API_LIMIT`]. A string inside an answer is
//! bounded by it too. Past it the read fails as a gap worded by
//! [`TooLarge`] ("answer larger than 32 MiB"), never an abort or an
//! out-of-memory kill: a 1 MB gzip answer can inflate to 1 GB, and kube's
//! watch line codec has no limit of its own.
//!
//! The limit is per answer, and a dozen reads run at once; so all the
//! answers in flight together may hold at most [`IN_FLIGHT_LIMIT`] (the
//! bytes of the answers being read, and the current line of each watch):
//! a server that bombs every read at once is cut there too.
//!
//! Why 32 MiB: the largest answers real clusters send are a page of 2,500
//! game pods (`lists::GAME_POD_PAGE`) at 4–5 KB of JSON each, ≈ 12 MB
//! (a 2,000-pod page ≈ 10 MB), a node Table page of 2,500 rows at ≈ 4 KB,
//! ≈ 10 MB (5,000 nodes in two pages), and the KEDA operator's log
//! (at most 500 lines of the last 30 minutes, ≈ 0.5–5 MB). One watch line is
//! one object, at most etcd's 1.5 MiB. So the limit is 2.5 times the largest
//! real answer; and what it costs at worst stays small: an answer read whole
//! is held at most four times while decoded (kube's `request_text` copies it
//! three times, then the parse), ≈ 128 MiB, and a bomb is cut as soon as it
//! passes the limit.

use http::{Request, Response};
use hyper::body::{Body, Bytes, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll};

/// Decompressed bytes one answer, or one watch line, may have.
pub const ANSWER_LIMIT: usize = 32 << 20;

/// Decompressed bytes all answers being read (and the current lines of all
/// watches) may have together: twice [`ANSWER_LIMIT`], so the largest real
/// answers read at once (a pod page, a node page, the operator log:
/// ≈ 25 MB) never meet it, even beside one answer cut at its own limit.
pub const IN_FLIGHT_LIMIT: usize = 2 * ANSWER_LIMIT;

/// The process's count of bytes in flight, against [`IN_FLIGHT_LIMIT`].
pub static IN_FLIGHT: Budget = Budget::new(IN_FLIGHT_LIMIT);

/// A count of bytes held by answers being read, shared by all of them.
pub struct Budget {
    held: std::sync::atomic::AtomicUsize,
    limit: usize,
}

impl Budget {
    pub const fn new(limit: usize) -> Budget {
        Budget {
            held: std::sync::atomic::AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes `n` bytes; false (having taken them) when that puts the count
    /// past the limit.
    fn take(&self, n: usize) -> bool {
        use std::sync::atomic::Ordering;
        self.held.fetch_add(n, Ordering::AcqRel).saturating_add(n) <= self.limit
    }

    fn give_back(&self, n: usize) {
        self.held.fetch_sub(n, std::sync::atomic::Ordering::AcqRel);
    }
}

/// Bytes one Prometheus or Loki answer may have. Their answers here are a
/// few series each (instant queries, a bounded range of points, the alert
/// rules of a large kube-prometheus-stack at ≈ 1 MB), and several are read
/// at once, so they get a smaller limit of their own: 8 times the largest.
pub const HTTP_API_LIMIT: usize = 8 << 20;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// An answer (or a watch line) that went past [`ANSWER_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooLarge {
    pub limit: usize,
    /// A line of a watch stream, not a whole answer.
    pub line: bool,
    /// All answers in flight together went past `limit`.
    pub together: bool,
}

impl std::fmt::Display for TooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = self.limit >> 20;
        if self.together {
            write!(
                f,
                "answers in flight larger than {mib} MiB together (read stopped)"
            )
        } else if self.line {
            write!(f, "a watch event larger than {mib} MiB (read stopped)")
        } else {
            write!(f, "answer larger than {mib} MiB (read stopped)")
        }
    }
}

impl std::error::Error for TooLarge {}

/// The hint of every gap [`TooLarge`] makes.
pub const HINT: &str = "no real answer is that large: check what answers at that address (a proxy or a server sending a compressed bomb?)";

/// The [`TooLarge`] somewhere in `err`'s chain (an `io::Error` wrapping it
/// included, which `source()` alone would skip).
pub fn too_large(err: &(dyn std::error::Error + 'static)) -> Option<TooLarge> {
    let mut current = Some(err);
    while let Some(e) = current {
        if let Some(t) = e.downcast_ref::<TooLarge>() {
            return Some(*t);
        }
        if let Some(inner) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            && let Some(t) = too_large(inner)
        {
            return Some(t);
        }
        current = e.source();
    }
    None
}

/// Reads a reqwest answer's body, at most `limit` bytes of it.
pub async fn read_reqwest(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Result<Vec<u8>, TooLarge>, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if bytes.len() + chunk.len() > limit {
            return Ok(Err(TooLarge {
                limit,
                line: false,
                together: false,
            }));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Ok(bytes))
}

/// The tower layer that bounds the bodies of the service it wraps (kube's
/// decompression: so what is counted is what was decompressed).
#[derive(Clone, Copy)]
pub struct LimitLayer {
    pub limit: usize,
    pub budget: &'static Budget,
}

impl<S> tower::Layer<S> for LimitLayer {
    type Service = Limit<S>;

    fn layer(&self, inner: S) -> Limit<S> {
        Limit {
            inner,
            limit: self.limit,
            budget: self.budget,
        }
    }
}

#[derive(Clone)]
pub struct Limit<S> {
    inner: S,
    limit: usize,
    budget: &'static Budget,
}

/// Whether a request is a watch (its answer a stream of lines).
fn is_watch<B>(req: &Request<B>) -> bool {
    req.uri().path().contains("/watch/")
        || req
            .uri()
            .query()
            .unwrap_or("")
            .split('&')
            .any(|kv| matches!(kv, "watch=true" | "watch=1" | "follow=true"))
}

impl<S, ReqB, ResB> tower::Service<Request<ReqB>> for Limit<S>
where
    S: tower::Service<Request<ReqB>, Response = Response<ResB>>,
    S::Future: Send + 'static,
    ResB: Body<Data = Bytes> + Send + 'static,
    ResB::Error: Into<BoxError>,
{
    type Response = Response<Capped<ResB>>;
    type Error = S::Error;
    type Future = futures::future::BoxFuture<'static, Result<Self::Response, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqB>) -> Self::Future {
        let lines = is_watch(&req);
        let (limit, budget) = (self.limit, self.budget);
        let fut = self.inner.call(req);
        Box::pin(async move {
            let res = fut.await?;
            Ok(res.map(|body| Capped::new(body, limit, lines, budget)))
        })
    }
}

/// A body that fails with [`TooLarge`] once it has given more than `limit`
/// bytes (or, for a watch, once one line is longer than that).
pub struct Capped<B> {
    inner: Pin<Box<B>>,
    limit: usize,
    lines: bool,
    /// Bytes given so far: in all, or since the last newline. They are
    /// what this body has taken from `budget`.
    seen: usize,
    budget: &'static Budget,
    done: bool,
}

impl<B> Capped<B> {
    pub fn new(inner: B, limit: usize, lines: bool, budget: &'static Budget) -> Capped<B> {
        Capped {
            inner: Box::pin(inner),
            limit,
            lines,
            seen: 0,
            budget,
            done: false,
        }
    }

    /// Counts `data`; the limit it went past, if any.
    fn count(&mut self, data: &[u8]) -> Option<TooLarge> {
        let mut own = true;
        let before = self.seen;
        if !self.lines {
            self.seen = self.seen.saturating_add(data.len());
            own = self.seen <= self.limit;
        } else {
            match (
                data.iter().position(|&b| b == b'\n'),
                data.iter().rposition(|&b| b == b'\n'),
            ) {
                (Some(first), Some(last)) => {
                    // The line the chunk ends, then the one it starts (lines
                    // in between are shorter than the chunk).
                    let ended = self.seen.saturating_add(first);
                    self.seen = data.len() - last - 1;
                    own = ended <= self.limit && self.seen <= self.limit;
                }
                _ => {
                    self.seen = self.seen.saturating_add(data.len());
                    own = own && self.seen <= self.limit;
                }
            }
        }
        // The budget follows `seen`: a finished watch line gives its bytes back.
        let fits = if self.seen >= before {
            self.budget.take(self.seen - before)
        } else {
            self.budget.give_back(before - self.seen);
            true
        };
        let too_large = |together| TooLarge {
            limit: if together {
                self.budget.limit
            } else {
                self.limit
            },
            line: self.lines,
            together,
        };
        if !own {
            Some(too_large(false))
        } else if !fits {
            Some(too_large(true))
        } else {
            None
        }
    }

    /// Gives back what this body took from the budget.
    fn release(&mut self) {
        self.budget.give_back(std::mem::take(&mut self.seen));
    }
}

impl<B> Drop for Capped<B> {
    fn drop(&mut self) {
        self.release();
    }
}

impl<B> Body for Capped<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.done {
            return Poll::Ready(None);
        }
        let polled = self.inner.as_mut().poll_frame(cx);
        match polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref()
                    && let Some(too_large) = self.count(data)
                {
                    self.done = true;
                    self.release();
                    return Poll::Ready(Some(Err(Box::new(too_large))));
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(e.into()))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.done || self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;

    fn body(chunks: Vec<&'static [u8]>) -> impl Body<Data = Bytes, Error = std::io::Error> {
        let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = chunks
            .into_iter()
            .map(|c| Ok(Frame::data(Bytes::from_static(c))))
            .collect();
        http_body_util::StreamBody::new(futures::stream::iter(frames))
    }

    /// A budget of this test's own, far from any limit.
    fn budget() -> &'static Budget {
        Box::leak(Box::new(Budget::new(usize::MAX / 2)))
    }

    #[tokio::test]
    async fn answers_in_flight_together_share_one_budget_given_back_when_they_end() {
        let shared: &'static Budget = Box::leak(Box::new(Budget::new(10)));
        // Two answers of 6 bytes each: alone each fits, together they do not.
        let mut first = Capped::new(body(vec![b"123456"]), 8, false, shared);
        let second = Capped::new(body(vec![b"123456"]), 8, false, shared);
        let got = first.frame().await.expect("a frame");
        assert!(got.is_ok());
        let err = second.collect().await.expect_err("past the shared budget");
        assert_eq!(
            too_large(&*err),
            Some(TooLarge {
                limit: 10,
                line: false,
                together: true
            })
        );
        assert_eq!(
            too_large(&*err).map(|t| t.to_string()).as_deref(),
            Some("answers in flight larger than 0 MiB together (read stopped)")
        );
        // The first answer, ended, gives its bytes back.
        drop(first);
        let third = Capped::new(body(vec![b"123456"]), 8, false, shared);
        assert!(third.collect().await.is_ok());
        // A watch holds only its current line: many lines never exhaust it.
        let lines = Capped::new(
            body(vec![b"1234\n1234\n", b"1234\n1234\n12"]),
            5,
            true,
            shared,
        );
        assert!(lines.collect().await.is_ok());
        assert_eq!(shared.held.load(std::sync::atomic::Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn an_answer_past_the_limit_fails_with_too_large_and_one_at_it_passes() {
        let at = Capped::new(body(vec![b"12345", b"678"]), 8, false, budget());
        assert_eq!(
            at.collect().await.expect("8 bytes pass").to_bytes().len(),
            8
        );
        let past = Capped::new(body(vec![b"12345", b"6789"]), 8, false, budget());
        let err = past.collect().await.expect_err("9 bytes fail");
        assert_eq!(
            too_large(&*err),
            Some(TooLarge {
                limit: 8,
                line: false,
                together: false
            })
        );
        assert_eq!(
            TooLarge {
                limit: ANSWER_LIMIT,
                line: false,
                together: false
            }
            .to_string(),
            "answer larger than 32 MiB (read stopped)"
        );
    }

    #[tokio::test]
    async fn a_watch_counts_each_line_not_the_stream() {
        // Many short lines: far more than the limit in all, never one too long.
        let lines = Capped::new(
            body(vec![b"1234\n12", b"34\n1234\n", b"1234"]),
            5,
            true,
            budget(),
        );
        assert!(lines.collect().await.is_ok());
        // One line spread over chunks past the limit.
        let long = Capped::new(body(vec![b"12\n1234", b"56", b"\n"]), 5, true, budget());
        let err = long.collect().await.expect_err("a 6-byte line");
        assert!(too_large(&*err).is_some_and(|t| t.line));
        // A line that ends inside a chunk is counted up to its newline.
        let ended = Capped::new(body(vec![b"1234", b"56\n12"]), 5, true, budget());
        assert!(ended.collect().await.is_err());
    }

    #[test]
    fn too_large_is_found_inside_io_errors_and_kube_errors() {
        let t = TooLarge {
            limit: 1,
            line: true,
            together: false,
        };
        let kube = kube::Error::Service(Box::new(t));
        let io = std::io::Error::other(kube);
        let events = kube::Error::ReadEvents(io);
        assert_eq!(too_large(&events), Some(t));
        assert_eq!(too_large(&std::io::Error::other("other")), None);
    }
}
