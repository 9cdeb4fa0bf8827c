//! `ignore-error,<0|1>`: single bare value, allowed anywhere in a chain (real URLs put it last,
//! e.g. `image/resize,w_100/quality,q_90/ignore-error,1`). It moves no pixel and is not an
//! [`Action`](super::Action): it is [`Chain::ignore_error`](super::Chain::ignore_error), read by
//! the chain parser wherever it appears; the last one wins. `1` asks the gateway to answer the
//! original object when the render fails because of the source or the chain.
//!
//! Rules: no value → MissingArgument; a value other than 0 or 1 → InvalidArgument; more than one
//! value → 203. OSS documents no EC of its own for `ignore-error`, so its errors carry none (the
//! general parameter handling, like `auto-orient`'s missing value). Not allowed in a watermark
//! image's pre-processing.
//!
//! Canonical form: `/ignore-error,1` after the last action when set; `ignore-error,0` (the
//! default) prints nothing.

use std::fmt;

use super::cursor::{Cursor, Subject, flag};
use super::error::SpecError;

pub(crate) const NAME: &str = "ignore-error";

/// `ignore-error,<0|1>` → `true` for 1.
pub(crate) fn parse(mut c: Cursor<'_>) -> Result<bool, SpecError> {
    let v = c.value(None, "0 or 1")?;
    c.finish()?;
    flag(NAME, Subject::Value, v, None)
}

/// Canonical form: `/ignore-error,1` when set, nothing otherwise (written after the actions).
pub(crate) fn write(ignore: bool, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    if ignore { write!(f, "/{NAME},1") } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::super::ErrorKind::{InvalidArgument, MissingArgument};
    use super::super::parse_image;
    use super::super::testing::{Expect, check, check_msg};

    #[test]
    fn table() {
        const ROWS: &[(&str, Expect)] = &[
            // as real URLs write it: last
            ("quality,q_90/ignore-error,1", Ok("quality,q_90/ignore-error,1")),
            // anywhere in the chain: printed after the last action
            ("ignore-error,1/resize,w_100", Ok("resize,m_lfit,w_100,limit_1/ignore-error,1")),
            (
                "resize,w_100/ignore-error,1/rotate,90",
                Ok("resize,m_lfit,w_100,limit_1/rotate,90/ignore-error,1"),
            ),
            // 0 is the default and prints nothing
            ("resize,w_100/ignore-error,0", Ok("resize,m_lfit,w_100,limit_1")),
            // the last one wins
            ("ignore-error,1/rotate,90/ignore-error,0", Ok("rotate,90")),
            ("ignore-error,0/rotate,90/ignore-error,1", Ok("rotate,90/ignore-error,1")),
            // any integer spelling of 0 and 1, like every flag
            ("rotate,90/ignore-error,01", Ok("rotate,90/ignore-error,1")),
            ("rotate,90/ignore-error,+1", Ok("rotate,90/ignore-error,1")),
            // info and average-hue may carry it: it is not an action
            ("info/ignore-error,1", Ok("info/ignore-error,1")),
            ("ignore-error,1/average-hue", Ok("average-hue/ignore-error,1")),
            // after a watermark it is not mistaken for a cut base64 value
            (
                "watermark,text_SGVsbG8/ignore-error,1",
                Ok("watermark,t_100,g_se,x_10,y_10,fill_0,text_SGVsbG8,type_d3F5LXplbmhlaQ,\
                    color_000000,size_40,shadow_0,rotate_0/ignore-error,1"),
            ),
            // one trailing '/' is tolerated as after any action
            ("rotate,90/ignore-error,1/", Ok("rotate,90/ignore-error,1")),
            // not an action: a chain needs one (212)
            ("ignore-error,1", Err((MissingArgument, Some("0040-00000212")))),
            // values: no EC is documented for ignore-error
            ("rotate,90/ignore-error", Err((MissingArgument, None))),
            ("rotate,90/ignore-error,2", Err((InvalidArgument, None))),
            ("rotate,90/ignore-error,-1", Err((InvalidArgument, None))),
            ("rotate,90/ignore-error,true", Err((InvalidArgument, None))),
            ("rotate,90/ignore-error,1,1", Err((InvalidArgument, Some("0040-00000203")))),
            // case-sensitive like every name
            ("rotate,90/Ignore-error,1", Err((InvalidArgument, None))),
            ("rotate,90/ignore_error,1", Err((InvalidArgument, None))),
            // a bad value is an error even where a later one would win
            ("ignore-error,5/rotate,90/ignore-error,1", Err((InvalidArgument, None))),
        ];
        check(ROWS);
    }

    #[test]
    fn messages() {
        check_msg("rotate,90/ignore-error,2", "ignore-error: value must be an integer in [0, 1], got \"2\"");
        check_msg("rotate,90/ignore-error", "ignore-error: missing value, expected 0 or 1");
    }

    #[test]
    fn the_field_and_the_actions() {
        let chain = parse_image("image/resize,w_100/quality,q_90/ignore-error,1").unwrap();
        assert!(chain.ignore_error);
        assert_eq!(chain.actions.len(), 2);
        assert!(!parse_image("image/resize,w_100").unwrap().ignore_error);
        assert!(!parse_image("image/resize,w_100/ignore-error,0").unwrap().ignore_error);
    }

    #[test]
    fn not_in_a_watermark_image_pre_processing() {
        // `a.png?x-oss-process=image/resize,P_30/ignore-error,1`
        let b64 = super::super::encode_base64_url(b"a.png?x-oss-process=image/resize,P_30/ignore-error,1");
        let e = parse_image(&format!("image/watermark,image_{b64}")).unwrap_err();
        assert_eq!(e.kind, InvalidArgument, "{e}");
        assert!(e.message.contains("ignore-error: not allowed here"), "{}", e.message);
    }
}
