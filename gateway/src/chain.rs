//! From an `x-oss-process` value to a typed chain, for one bucket: parse, resolve styles.

use pixgate_ops::spec::{self, Chain, Process, ProcessRequest, SaveAs};

use crate::config::BucketConfig;
use crate::error::GatewayError;

/// Check one configured style (name and content), for config validation.
pub fn check_style(name: &str, content: &str) -> Result<(), String> {
    spec::validate_style_name(name).map_err(|e| e.message)?;
    spec::parse_style_content(content).map_err(|e| e.message)?;
    Ok(())
}

/// Parse `raw` and resolve a style of `bucket`. `sys/saveas` is refused unless `allow_saveas`.
pub fn resolve(bucket: &BucketConfig, raw: &str) -> Result<(Chain, Option<SaveAs>), GatewayError> {
    let ProcessRequest { process, saveas } = spec::parse_process(raw)?;
    let chain = match process {
        Process::Image(chain) => chain,
        Process::Style(name) => match bucket.styles.get(&name) {
            Some(content) => spec::parse_style_content(content)?,
            None => return Err(GatewayError::NoSuchStyle(name)),
        },
    };
    Ok((chain, saveas))
}

/// A GET or HEAD: like [`resolve`], but `sys/saveas` is an error (it needs a POST).
pub fn resolve_get(bucket: &BucketConfig, raw: &str) -> Result<Chain, GatewayError> {
    match resolve(bucket, raw)? {
        (chain, None) => Ok(chain),
        (_, Some(_)) => {
            Err(GatewayError::InvalidArgument("sys/saveas is only allowed in a POST request.".into()))
        }
    }
}
