//! Responses as values, and the one place that writes them to the client.
//!
//! Handlers return a [`Response`]; errors become one through [`error`], which reads the one
//! table in `error.rs` (status, OSS code, EC, message, metric label, extra headers). [`send`]
//! writes any of them and is the only code that writes to a Pingora session.

use bytes::Bytes;
use futures::StreamExt;
use http::HeaderValue;
use pingora::http::ResponseHeader;
use pingora::proxy::Session;

use crate::access_log::{CacheStatus, RequestLog};
use crate::error::{GatewayError, xml_body};
use crate::metrics::Metrics;
use crate::origin::BodyStream;

/// What follows a response's header.
pub enum Body {
    /// Nothing (HEAD, 304, an empty object).
    Empty,
    /// Bytes already in memory (a variant, an error envelope, a JSON answer).
    Bytes(Bytes),
    /// An origin body of `length` bytes: `first` (a chunk read to sniff the type), then `rest`.
    /// Streamed after the request deadline no longer applies (it bounds the time to the first
    /// byte, not a slow download).
    Stream { first: Option<Bytes>, rest: BodyStream, length: u64 },
}

/// A complete answer: status, headers (after the ones every response carries) and body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(&'static str, HeaderValue)>,
    pub body: Body,
    /// How the cache answered, for `x-pixgate-cache` (set by the handler) and the log.
    pub cache: CacheStatus,
}

impl Response {
    pub fn new(status: u16) -> Response {
        Response { status, headers: Vec::with_capacity(8), body: Body::Empty, cache: CacheStatus::None }
    }

    /// Add a header whose value comes from elsewhere (an origin's ETag, a number); a value
    /// that is not a valid header value is an internal error.
    pub fn header(&mut self, name: &'static str, value: &str) -> Result<(), GatewayError> {
        let v = HeaderValue::from_str(value)
            .map_err(|_| GatewayError::Internal(format!("building headers: invalid {name} value")))?;
        self.headers.push((name, v));
        Ok(())
    }

    pub fn static_header(&mut self, name: &'static str, value: &'static str) {
        self.headers.push((name, HeaderValue::from_static(value)));
    }

    /// A body held in memory, with its Content-Type and Content-Length; for HEAD only the
    /// headers.
    pub fn with_bytes(mut self, content_type: &'static str, body: Bytes, head: bool) -> Response {
        self.static_header("content-type", content_type);
        self.headers.push(("content-length", HeaderValue::from(body.len())));
        self.body = if head || body.is_empty() { Body::Empty } else { Body::Bytes(body) };
        self
    }
}

/// The response for an error: the OSS XML envelope, `x-oss-ec`, and the headers and metric
/// label the error table gives.
pub fn error(err: &GatewayError, metrics: &Metrics, request_id: &str, host: &str, head: bool) -> Response {
    let p = err.public();
    if let Some(reason) = err.rejected() {
        metrics.rejected_total.with_label_values(&[reason]).inc();
    }
    let body = Bytes::from(xml_body(&p, request_id, host));
    let mut r = Response::new(p.status).with_bytes("application/xml", body, head);
    if let Some(ec) = p.ec {
        r.static_header("x-oss-ec", ec);
    }
    for (name, value) in err.extra_headers() {
        // Built from numbers and constants: always valid.
        let _ = r.header(name, &value);
    }
    r
}

/// A failure while sending: whether the status line had already gone out.
pub struct SendError {
    pub header_sent: bool,
    pub error: GatewayError,
}

/// Write a response: the headers every response carries, the response's own, then its body.
/// `log` learns the status and the body bytes written.
pub async fn send(
    session: &mut Session,
    log: &mut RequestLog,
    request_id: &str,
    response: Response,
) -> Result<(), SendError> {
    let before = |error| SendError { header_sent: false, error };
    let after = |error| SendError { header_sent: true, error };
    let Response { status, headers, body, cache } = response;
    let mut h = ResponseHeader::build(status, Some(4 + headers.len()))
        .map_err(|e| before(GatewayError::Internal(format!("building headers: {e}"))))?;
    let build = |h: &mut ResponseHeader| -> pingora::Result<()> {
        h.insert_header("server", "Pixgate")?;
        h.insert_header("x-oss-request-id", request_id)?;
        h.insert_header("x-content-type-options", "nosniff")?;
        if let Some(id) = &log.client_request_id {
            h.insert_header("x-request-id", id.as_str())?;
        }
        for (name, value) in headers {
            h.insert_header(name, value)?;
        }
        Ok(())
    };
    build(&mut h).map_err(|e| before(GatewayError::Internal(format!("building headers: {e}"))))?;
    log.status = status;
    log.cache = cache;
    let end = matches!(body, Body::Empty);
    session
        .write_response_header(Box::new(h), end)
        .await
        .map_err(|e| before(GatewayError::Internal(format!("writing headers: {e}"))))?;
    let gone = |e: Box<pingora::Error>| after(GatewayError::ClientGone(e.to_string()));
    match body {
        Body::Empty => Ok(()),
        Body::Bytes(bytes) => {
            log.bytes += bytes.len() as u64;
            session.write_response_body(Some(bytes), true).await.map_err(gone)
        }
        Body::Stream { first, mut rest, length } => {
            if let Some(chunk) = first {
                log.bytes += chunk.len() as u64;
                session.write_response_body(Some(chunk), false).await.map_err(gone)?;
            }
            while let Some(chunk) = rest.next().await {
                let chunk = chunk.map_err(|e| after(e.into()))?;
                log.bytes += chunk.len() as u64;
                session.write_response_body(Some(chunk), false).await.map_err(gone)?;
            }
            if log.bytes != length {
                let sent = log.bytes;
                return Err(after(GatewayError::BadGateway(format!("origin sent {sent} of {length} bytes"))));
            }
            session.write_response_body(None, true).await.map_err(gone)
        }
    }
}
