//! The one edge error enum and its one mapping to (status, OSS Code, EC, public message).
//!
//! Every failure a request can meet ends up as a [`GatewayError`]; [`GatewayError::public`] is the
//! only place that decides what the client sees. Internal details (paths, origin messages, panic
//! payloads) go to the log through [`GatewayError::detail`], never into a response body.

use pixgate_ops::codec::CodecError;
use pixgate_ops::frame::OpError;
use pixgate_ops::pipeline::PipelineError;
use pixgate_ops::spec::SpecError;

use crate::auth::AuthError;
use crate::origin::OriginError;
use crate::worker::{BudgetError, PoolError};

/// Who caused a failure: decides the log level and the metric label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    Client,
    Origin,
    Internal,
}

impl Fault {
    pub fn as_str(self) -> &'static str {
        match self {
            Fault::Client => "client",
            Fault::Origin => "origin",
            Fault::Internal => "internal",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GatewayError {
    /// A bad `x-oss-process` value or style content.
    Spec(SpecError),
    /// A bad request that is not about the processing language.
    InvalidArgument(String),
    InvalidObjectName(String),
    /// A source that does not decode, or is not an image.
    BadRequest(String),
    /// A source or output over a limit, with OSS's EC.
    ImageTooLarge {
        message: String,
        ec: &'static str,
    },
    /// A watermark that cannot be applied (its object missing or not an image), with OSS's EC.
    WatermarkError {
        message: String,
        ec: Option<&'static str>,
    },
    /// Every worker is busy and the queue is full.
    SlowDown,
    /// An anonymous request the bucket's rules refuse, an expired URL, a missing signature piece.
    AccessDenied(String),
    /// A signature made with a key `[[credentials]]` does not list.
    InvalidAccessKeyId,
    /// A signature that does not verify.
    SignatureDoesNotMatch,
    /// A signed request whose date is more than 15 minutes from Pixgate's clock.
    RequestTimeTooSkewed,
    /// A request body over its limit.
    EntityTooLarge,
    /// A request body that does not match its Content-MD5 or x-oss-content-sha256.
    BadDigest,
    /// A request body that is not the XML the request needs (the Style API's `<Style>`).
    MalformedXml(String),
    /// A request target (path and query) over its limit.
    UriTooLong,
    /// Request headers over their limit.
    HeadersTooLarge,
    NoSuchKey,
    NoSuchBucket,
    NoSuchStyle(String),
    MethodNotAllowed,
    /// A request Pixgate understands but does not serve.
    NotImplemented(String),
    InvalidRange {
        size: Option<u64>,
    },
    /// The origin failed (refused, reset, 5xx, malformed answer).
    BadGateway(String),
    /// The origin, the processing or the whole request took longer than allowed.
    GatewayTimeout(Stage),
    /// A bug: the detail is logged, the client sees a generic message.
    Internal(String),
    /// The client went away while its response was being written. Never sent; logged.
    ClientGone(String),
}

/// What ran out of time, for [`GatewayError::GatewayTimeout`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// An origin request (the origin's fault).
    Origin,
    /// The image work on the worker pool.
    Processing,
    /// The whole request, until its response started.
    Request,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Origin => "origin",
            Stage::Processing => "processing",
            Stage::Request => "request",
        }
    }
}

/// What the client gets for an error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicError {
    pub status: u16,
    pub code: &'static str,
    pub ec: Option<&'static str>,
    pub message: String,
    pub fault: Fault,
}

impl GatewayError {
    /// The one mapping to the response.
    pub fn public(&self) -> PublicError {
        use GatewayError as E;
        let (status, code, ec, message, fault) = match self {
            E::Spec(e) => (400, e.kind.code(), e.ec, e.message.clone(), Fault::Client),
            E::InvalidArgument(m) => (400, "InvalidArgument", None, m.clone(), Fault::Client),
            E::InvalidObjectName(m) => (400, "InvalidObjectName", None, m.clone(), Fault::Client),
            E::BadRequest(m) => (400, "BadRequest", None, m.clone(), Fault::Client),
            E::ImageTooLarge { message, ec } => {
                (400, "ImageTooLarge", Some(*ec), message.clone(), Fault::Client)
            }
            E::WatermarkError { message, ec } => (400, "WatermarkError", *ec, message.clone(), Fault::Client),
            E::SlowDown => (
                503,
                "SlowDown",
                None,
                "Please reduce your request rate: every image worker is busy.".into(),
                Fault::Internal,
            ),
            E::AccessDenied(m) => (403, "AccessDenied", None, m.clone(), Fault::Client),
            E::InvalidAccessKeyId => (
                403,
                "InvalidAccessKeyId",
                None,
                "The OSS Access Key Id you provided does not exist in our records.".into(),
                Fault::Client,
            ),
            E::SignatureDoesNotMatch => (
                403,
                "SignatureDoesNotMatch",
                None,
                "The request signature we calculated does not match the signature you provided. \
                 Check your key and signing method."
                    .into(),
                Fault::Client,
            ),
            E::RequestTimeTooSkewed => (
                403,
                "RequestTimeTooSkewed",
                None,
                "The difference between the request time and the current time is too large.".into(),
                Fault::Client,
            ),
            E::EntityTooLarge => (
                400,
                "EntityTooLarge",
                None,
                "Your proposed upload exceeds the maximum allowed size.".into(),
                Fault::Client,
            ),
            E::BadDigest => (
                400,
                "InvalidDigest",
                None,
                "The Content-MD5 or x-oss-content-sha256 you specified does not match the body.".into(),
                Fault::Client,
            ),
            E::MalformedXml(m) => (400, "MalformedXML", None, m.clone(), Fault::Client),
            E::UriTooLong => (
                414,
                "RequestURITooLong",
                None,
                "The request URI is longer than this service accepts.".into(),
                Fault::Client,
            ),
            E::HeadersTooLarge => (
                431,
                "RequestHeaderFieldsTooLarge",
                None,
                "The request headers are larger than this service accepts.".into(),
                Fault::Client,
            ),
            E::NoSuchKey => (
                404,
                "NoSuchKey",
                Some("0026-00000001"),
                "The specified key does not exist.".into(),
                Fault::Client,
            ),
            E::NoSuchBucket => (
                404,
                "NoSuchBucket",
                Some("0015-00000101"),
                "The specified bucket does not exist.".into(),
                Fault::Client,
            ),
            E::NoSuchStyle(name) => (
                404,
                "NoSuchStyle",
                None,
                format!("The specified style does not exist: {}", truncate(name, 64)),
                Fault::Client,
            ),
            E::MethodNotAllowed => (
                405,
                "MethodNotAllowed",
                None,
                "The specified method is not allowed against this resource.".into(),
                Fault::Client,
            ),
            E::NotImplemented(m) => (501, "NotImplemented", None, m.clone(), Fault::Client),
            E::InvalidRange { .. } => {
                (416, "InvalidRange", None, "The requested range cannot be satisfied.".into(), Fault::Client)
            }
            E::BadGateway(_) => {
                (502, "BadGateway", None, "The origin object store failed to answer.".into(), Fault::Origin)
            }
            E::GatewayTimeout(stage) => (
                504,
                "GatewayTimeout",
                None,
                format!("The {} took longer than allowed.", stage.as_str()),
                if *stage == Stage::Origin { Fault::Origin } else { Fault::Internal },
            ),
            E::Internal(_) => (
                500,
                "InternalError",
                None,
                "We encountered an internal error. Please try again.".into(),
                Fault::Internal,
            ),
            E::ClientGone(_) => {
                (499, "ClientClosedRequest", None, "The client closed the connection.".into(), Fault::Client)
            }
        };
        PublicError { status, code, ec, message, fault }
    }

    /// The `reason` label of `pixgate_rejected_total`, for refusals that are counted there.
    pub fn rejected(&self) -> Option<&'static str> {
        match self {
            GatewayError::ImageTooLarge { .. } => Some("limit"),
            GatewayError::SlowDown => Some("overload"),
            GatewayError::AccessDenied(_)
            | GatewayError::InvalidAccessKeyId
            | GatewayError::SignatureDoesNotMatch
            | GatewayError::RequestTimeTooSkewed => Some("auth"),
            _ => None,
        }
    }

    /// Headers an error response carries besides the envelope's own.
    pub fn extra_headers(&self) -> Vec<(&'static str, String)> {
        match self {
            GatewayError::InvalidRange { size: Some(size) } => {
                vec![("content-range", format!("bytes */{size}"))]
            }
            GatewayError::MethodNotAllowed => vec![("allow", "GET, HEAD, POST".into())],
            _ => Vec::new(),
        }
    }

    /// The detail for the log (may name internals; never sent to the client).
    pub fn detail(&self) -> String {
        match self {
            GatewayError::BadGateway(d) | GatewayError::Internal(d) | GatewayError::ClientGone(d) => {
                d.clone()
            }
            other => other.public().message,
        }
    }
}

impl From<SpecError> for GatewayError {
    fn from(e: SpecError) -> Self {
        GatewayError::Spec(e)
    }
}

impl From<CodecError> for GatewayError {
    fn from(e: CodecError) -> Self {
        match e {
            CodecError::TooLarge { message, ec } => GatewayError::ImageTooLarge { message, ec },
            CodecError::Unsupported(what) => {
                GatewayError::BadRequest(format!("The source object is not a supported image: {what}."))
            }
            CodecError::Corrupt(_) => {
                GatewayError::BadRequest("The source image could not be decoded.".into())
            }
            CodecError::NeedsFeature(what) => GatewayError::NotImplemented(format!("{what}.")),
            CodecError::Encode(detail) => GatewayError::Internal(format!("encoder: {detail}")),
        }
    }
}

impl From<PipelineError> for GatewayError {
    fn from(e: PipelineError) -> Self {
        match e {
            PipelineError::Codec(c) => c.into(),
            PipelineError::Op(OpError::BadRequest(message)) => GatewayError::BadRequest(message),
            PipelineError::Op(OpError::TooLarge { message, ec }) => {
                GatewayError::ImageTooLarge { message, ec }
            }
            PipelineError::Op(OpError::Watermark { message, ec }) => {
                GatewayError::WatermarkError { message, ec }
            }
            PipelineError::NotImplemented(name) => GatewayError::NotImplemented(format!(
                "{name} is not implemented yet in this version of Pixgate."
            )),
            PipelineError::Deadline => GatewayError::GatewayTimeout(Stage::Processing),
        }
    }
}

impl From<PoolError> for GatewayError {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Overloaded => GatewayError::SlowDown,
            PoolError::Panicked(what) => GatewayError::Internal(format!("worker panic: {what}")),
            PoolError::Closed => GatewayError::Internal("the worker pool is closed".into()),
        }
    }
}

impl From<BudgetError> for GatewayError {
    fn from(e: BudgetError) -> Self {
        match e {
            BudgetError::TooLarge { mib, total_mib } => GatewayError::ImageTooLarge {
                message: format!(
                    "Processing this image would need about {mib} MiB; this server allows {total_mib} MiB."
                ),
                ec: "0040-00000012",
            },
            BudgetError::Busy => GatewayError::SlowDown,
        }
    }
}

impl From<AuthError> for GatewayError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::InvalidArgument(m) => GatewayError::InvalidArgument(m),
            AuthError::AccessDenied(m) => GatewayError::AccessDenied(m),
            AuthError::InvalidAccessKeyId => GatewayError::InvalidAccessKeyId,
            AuthError::SignatureDoesNotMatch => GatewayError::SignatureDoesNotMatch,
            AuthError::RequestTimeTooSkewed => GatewayError::RequestTimeTooSkewed,
        }
    }
}

impl From<OriginError> for GatewayError {
    fn from(e: OriginError) -> Self {
        match e {
            OriginError::NotFound => GatewayError::NoSuchKey,
            OriginError::NoSuchBucket => GatewayError::NoSuchBucket,
            OriginError::InvalidKey(m) => GatewayError::InvalidObjectName(m),
            OriginError::RangeNotSatisfiable { size } => GatewayError::InvalidRange { size },
            OriginError::Timeout => GatewayError::GatewayTimeout(Stage::Origin),
            OriginError::Failed(m) => GatewayError::BadGateway(m),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &s[..i]),
        None => s.to_string(),
    }
}

/// Escape text for an XML element (quotes need no escaping in element content).
pub fn xml_escape(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            // Not allowed in XML 1.0, even as references.
            c if (c as u32) < 0x20 && c != '\t' && c != '\n' && c != '\r' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

/// The OSS XML error envelope.
pub fn xml_body(e: &PublicError, request_id: &str, host_id: &str) -> String {
    let mut out = String::with_capacity(256 + e.message.len());
    out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>");
    out.push_str(e.code);
    out.push_str("</Code>\n  <Message>");
    xml_escape(&e.message, &mut out);
    out.push_str("</Message>\n  <RequestId>");
    xml_escape(request_id, &mut out);
    out.push_str("</RequestId>\n  <HostId>");
    xml_escape(host_id, &mut out);
    out.push_str("</HostId>\n");
    if let Some(ec) = e.ec {
        out.push_str("  <EC>");
        out.push_str(ec);
        out.push_str("</EC>\n  <RecommendDoc>https://api.aliyun.com/troubleshoot?q=");
        out.push_str(ec);
        out.push_str("</RecommendDoc>\n");
    }
    out.push_str("</Error>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_table_of_the_contract() {
        let rows: Vec<(GatewayError, u16, &str)> = vec![
            (GatewayError::InvalidArgument("x".into()), 400, "InvalidArgument"),
            (GatewayError::NoSuchKey, 404, "NoSuchKey"),
            (GatewayError::NoSuchBucket, 404, "NoSuchBucket"),
            (GatewayError::NoSuchStyle("s".into()), 404, "NoSuchStyle"),
            (GatewayError::MethodNotAllowed, 405, "MethodNotAllowed"),
            (GatewayError::BadGateway("connection refused".into()), 502, "BadGateway"),
            (GatewayError::GatewayTimeout(Stage::Origin), 504, "GatewayTimeout"),
            (GatewayError::Internal("panic at x.rs:1".into()), 500, "InternalError"),
            (GatewayError::InvalidRange { size: Some(3) }, 416, "InvalidRange"),
            (GatewayError::BadRequest("x".into()), 400, "BadRequest"),
            (GatewayError::ImageTooLarge { message: "x".into(), ec: "0040-00000009" }, 400, "ImageTooLarge"),
            (GatewayError::SlowDown, 503, "SlowDown"),
            (GatewayError::AccessDenied("x".into()), 403, "AccessDenied"),
            (GatewayError::InvalidAccessKeyId, 403, "InvalidAccessKeyId"),
            (GatewayError::SignatureDoesNotMatch, 403, "SignatureDoesNotMatch"),
            (GatewayError::RequestTimeTooSkewed, 403, "RequestTimeTooSkewed"),
            (GatewayError::MalformedXml("x".into()), 400, "MalformedXML"),
            (GatewayError::NotImplemented("x".into()), 501, "NotImplemented"),
        ];
        for (e, status, code) in rows {
            let p = e.public();
            assert_eq!((p.status, p.code), (status, code), "{e:?}");
        }
    }

    #[test]
    fn internals_never_reach_the_body() {
        for e in [
            GatewayError::BadGateway("dns error for secret-host.internal".into()),
            GatewayError::Internal("thread panicked at /home/build/ops/src/x.rs".into()),
        ] {
            let body = xml_body(&e.public(), "RID", "host");
            assert!(!body.contains("secret-host") && !body.contains("/home/"), "{body}");
        }
    }

    #[test]
    fn envelope_is_escaped_and_carries_the_ec() {
        let p = PublicError {
            status: 400,
            code: "InvalidArgument",
            ec: Some("0040-00000311"),
            message: "m_<abc> & \"x\"".into(),
            fault: Fault::Client,
        };
        let body = xml_body(&p, "5F0A", "h<o>st");
        assert_eq!(
            body,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>\n  <Code>InvalidArgument</Code>\n  \
             <Message>m_&lt;abc&gt; &amp; \"x\"</Message>\n  <RequestId>5F0A</RequestId>\n  \
             <HostId>h&lt;o&gt;st</HostId>\n  <EC>0040-00000311</EC>\n  \
             <RecommendDoc>https://api.aliyun.com/troubleshoot?q=0040-00000311</RecommendDoc>\n</Error>\n"
        );
    }
}
