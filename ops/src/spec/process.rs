//! The whole `x-oss-process` value: `image/...` or `style/<name>`, optionally followed by
//! `|sys/saveas,...` (`docs/oss/requests.md#forms`, `docs/oss/requests.md#tokenising`,
//! `docs/oss/styles.md`, `docs/oss/saveas.md`).

use std::fmt;

use super::error::{Echo, SpecError};
use super::saveas::{self, SaveAs};
use super::style::validate_style_name;
use super::{Chain, parse_image};

/// What to do with the object.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Process {
    /// `image/...`: an explicit chain.
    Image(Chain),
    /// `style/<name>`: a bucket style (name validated; resolving it is the gateway's job).
    Style(String),
}

/// A parsed `x-oss-process` value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ProcessRequest {
    pub process: Process,
    /// `|sys/saveas,...` when present.
    pub saveas: Option<SaveAs>,
}

/// Parses a whole `x-oss-process` value.
///
/// `image/...` → [`parse_image`]; `style/<name>` → [`validate_style_name`]; anything else →
/// InvalidArgument. At most one `|` stage, and it must be `sys/saveas,...` (`|saveas,...` without
/// `sys/` is rejected). `info` and `average-hue` answer JSON, not an image, so they cannot be
/// saved: `image/info|sys/saveas,...` is InvalidArgument (for `style/<name>|sys/saveas,...` the
/// gateway must check the resolved chain the same way).
pub fn parse_process(s: &str) -> Result<ProcessRequest, SpecError> {
    let (head, tail) = match s.split_once('|') {
        Some((head, tail)) => (head, Some(tail)),
        None => (s, None),
    };
    let process = if head == "image" || head.starts_with("image/") {
        Process::Image(parse_image(head)?)
    } else if head == "style" || head.starts_with("style/") {
        let name = head.strip_prefix("style/").unwrap_or("");
        validate_style_name(name)?;
        Process::Style(name.to_owned())
    } else {
        return Err(SpecError::invalid(
            None,
            format!("x-oss-process: expected image/<action>... or style/<name>, got {}", Echo(head)),
        ));
    };
    let saveas = match tail {
        None => None,
        Some(t) if t.contains('|') => {
            return Err(SpecError::invalid(
                None,
                format!("x-oss-process: only one '|sys/saveas,...' stage is allowed, got {}", Echo(t)),
            ));
        }
        Some(t) => Some(saveas::parse(t)?),
    };
    if saveas.is_some()
        && let Process::Image(chain) = &process
        && let Some(a) = chain.actions.iter().find(|a| a.is_standalone())
    {
        return Err(SpecError::invalid(
            None,
            format!("{}: answers JSON and cannot be saved with |sys/saveas", a.name()),
        ));
    }
    Ok(ProcessRequest { process, saveas })
}

impl fmt::Display for Process {
    /// `image/<canonical chain>` or `style/<name>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Image(chain) => chain.fmt(f),
            Process::Style(name) => write!(f, "style/{name}"),
        }
    }
}

impl fmt::Display for ProcessRequest {
    /// Canonical form: the process, then `|sys/saveas,o_<b64>[,b_<b64>]` if present.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.process.fmt(f)?;
        if let Some(s) = &self.saveas {
            write!(f, "|{s}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{self, BadRequest, InvalidArgument, MissingArgument};
    use super::*;

    type Expect = Result<&'static str, (ErrorKind, Option<&'static str>)>;

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            ("image/resize,w_100", Ok("image/resize,m_lfit,w_100,limit_1")),
            ("style/small", Ok("style/small")),
            ("style/Thumb_1.v-2", Ok("style/Thumb_1.v-2")),
            // Go v2 SDK body
            (
                "image/resize,w_100|sys/saveas,o_ZGVzdC5qcGc=",
                Ok("image/resize,m_lfit,w_100,limit_1|sys/saveas,o_ZGVzdC5qcGc"),
            ),
            (
                "style/small|sys/saveas,o_ZGVzdC5qcGc,b_ZXhhbXBsZWJ1Y2tldA",
                Ok("style/small|sys/saveas,o_ZGVzdC5qcGc,b_ZXhhbXBsZWJ1Y2tldA"),
            ),
            (
                "image/format,png|sys/saveas,b_ZXhhbXBsZWJ1Y2tldA==,o_ZGVzdC5qcGc=",
                Ok("image/format,png|sys/saveas,o_ZGVzdC5qcGc,b_ZXhhbXBsZWJ1Y2tldA"),
            ),
            // errors of the head
            ("image/", Err((MissingArgument, Some("0040-00000212")))),
            ("image", Err((MissingArgument, Some("0040-00000212")))),
            ("image/resize,w_0|sys/saveas,o_ZGVzdC5qcGc", Err((InvalidArgument, Some("0040-00000312")))),
            ("style/", Err((InvalidArgument, Some("0017-00000250")))),
            ("style", Err((InvalidArgument, Some("0017-00000250")))),
            ("style/a/b", Err((InvalidArgument, Some("0017-00000251")))),
            ("video/snapshot,t_1", Err((InvalidArgument, None))),
            ("", Err((InvalidArgument, None))),
            ("styles/a", Err((InvalidArgument, None))),
            // errors of the tail
            ("image/resize,w_100|saveas,o_ZGVzdC5qcGc", Err((InvalidArgument, None))),
            ("image/resize,w_100|", Err((InvalidArgument, None))),
            ("image/resize,w_100|sys/saveas", Err((MissingArgument, None))),
            ("image/resize,w_100|sys/saveas,o_!!", Err((BadRequest, None))),
            ("image/resize,w_100|sys/saveas,o_YQ|sys/saveas,o_YQ", Err((InvalidArgument, None))),
            ("|sys/saveas,o_YQ", Err((InvalidArgument, None))),
            // info / average-hue answer JSON: nothing to save
            ("image/info|sys/saveas,o_ZGVzdC5qcGc", Err((InvalidArgument, None))),
            ("image/average-hue|sys/saveas,o_ZGVzdC5qcGc,b_ZXhhbXBsZWJ1Y2tldA", Err((InvalidArgument, None))),
            ("image/info", Ok("image/info")),
            ("image/average-hue", Ok("image/average-hue")),
            ("image/info|sys/saveas,o_!!", Err((BadRequest, None))),
            // legacy '@' syntax (`object@100w_100h`, `@!style`) is not accepted
            ("@100w_100h", Err((InvalidArgument, None))),
            ("@100w_100h_90q", Err((InvalidArgument, None))),
            ("@!small", Err((InvalidArgument, None))),
            ("image/@100w_100h", Err((InvalidArgument, None))),
            ("image/100w_100h_90q", Err((InvalidArgument, None))),
            ("style/@!small", Err((InvalidArgument, Some("0017-00000251")))),
            ("image/resize,w_100@2x", Err((InvalidArgument, Some("0040-00000312")))),
        ];
        for (input, expect) in ROWS {
            let got = parse_process(input);
            match (expect, got) {
                (Ok(canonical), Ok(req)) => {
                    assert_eq!(req.to_string(), *canonical, "{input:?}");
                    assert_eq!(parse_process(canonical), Ok(req), "{input:?}");
                }
                (Err((kind, ec)), Err(e)) => {
                    assert_eq!((e.kind, e.ec), (*kind, *ec), "{input:?}: {e}")
                }
                (expect, got) => panic!("{input:?}: expected {expect:?}, got {got:?}"),
            }
        }
    }

    #[test]
    fn messages() {
        let msg = |s: &str| parse_process(s).unwrap_err().message;
        assert_eq!(
            msg("image/info|sys/saveas,o_ZGVzdC5qcGc"),
            "info: answers JSON and cannot be saved with |sys/saveas"
        );
        assert_eq!(
            msg("image/average-hue|sys/saveas,o_ZGVzdC5qcGc"),
            "average-hue: answers JSON and cannot be saved with |sys/saveas"
        );
    }

    #[test]
    fn typed_values() {
        let req = parse_process("style/small|sys/saveas,o_ZGVzdC5qcGc=,b_ZXhhbXBsZWJ1Y2tldA").unwrap();
        assert_eq!(
            req,
            ProcessRequest {
                process: Process::Style("small".to_owned()),
                saveas: Some(SaveAs {
                    object: "dest.jpg".to_owned(),
                    bucket: Some("examplebucket".to_owned())
                }),
            }
        );
        let req = parse_process("image/info").unwrap();
        assert_eq!(
            req.process,
            Process::Image(Chain { actions: vec![super::super::Action::Info], ignore_error: false })
        );
        assert_eq!(req.saveas, None);
    }
}
