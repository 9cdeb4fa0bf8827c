//! The Style API (docs/oss/styles.md#style-api): a bucket's styles created, read, listed and
//! deleted with OSS's requests and XML. Styles from the configuration file are read and listed
//! but never changed here; stored ones live on the origin (`styles.rs`), and a change is
//! applied to this replica's live view at once (the others see it within `styles.refresh`).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use pixgate_ops::spec;

use crate::config::{BucketConfig, MAX_STYLES_PER_BUCKET};
use crate::error::{GatewayError, xml_escape};
use crate::respond::Response;
use crate::route::{StyleApi, StyleOp};
use crate::state::{Live, State};
use crate::styles::Store;

/// A style as the API shows it.
struct Shown {
    content: String,
    created: SystemTime,
    modified: SystemTime,
}

pub async fn style_api(
    state: &State,
    live: &Live,
    r: StyleApi,
    body: &[u8],
) -> Result<Response, GatewayError> {
    let Some(store) = &live.config.style_store else {
        return Err(GatewayError::NotImplemented(
            "The Style API is off: Pixgate's configuration sets no styles.store_bucket.".into(),
        ));
    };
    let store = Store::new(&*state.origin, store);
    let bucket = &r.bucket;
    match r.op {
        StyleOp::Put(name) => put(state, &store, bucket, &name, body).await,
        StyleOp::Get(name) => {
            let shown = match file_style(live, bucket, &name) {
                Some(shown) => shown,
                None => store
                    .read(&bucket.name, &name)
                    .await?
                    .map(Shown::from)
                    .ok_or_else(|| GatewayError::NoSuchStyle(name.clone()))?,
            };
            let mut xml = String::from(XML_DECLARATION);
            style_xml(&mut xml, &name, &shown, "");
            Ok(xml_response(xml))
        }
        StyleOp::List => {
            let mut styles: BTreeMap<String, Shown> =
                store.bucket(&bucket.name).await?.into_iter().map(|(n, s)| (n, Shown::from(s))).collect();
            for name in bucket.styles.keys() {
                if let Some(shown) = file_style(live, bucket, name) {
                    styles.insert(name.clone(), shown);
                }
            }
            let mut xml = String::from(XML_DECLARATION);
            xml.push_str("<StyleList>\n");
            for (name, shown) in &styles {
                style_xml(&mut xml, name, shown, "  ");
            }
            xml.push_str("</StyleList>\n");
            Ok(xml_response(xml))
        }
        StyleOp::Delete(name) => {
            read_only(bucket, &name)?;
            let _writing = state.styles.lock().await;
            if !store.delete(&bucket.name, &name).await? {
                return Err(GatewayError::NoSuchStyle(name));
            }
            state.styles.apply(&bucket.name, &name, None);
            tracing::info!(target: "pixgate::styles", bucket = bucket.name.as_str(), style = name.as_str(), "style deleted");
            Ok(Response::new(204))
        }
    }
}

/// `PUT ?style&styleName=N`: the content validated like any chain, the bucket's limit, then
/// written to the store and applied here at once.
async fn put(
    state: &State,
    store: &Store<'_>,
    bucket: &BucketConfig,
    name: &str,
    body: &[u8],
) -> Result<Response, GatewayError> {
    let content = style_content(body)?;
    let chain = Arc::new(spec::parse_style_content(&content)?);
    read_only(bucket, name)?;
    // One change at a time on this replica, and none while the store is re-read.
    let _writing = state.styles.lock().await;
    let existing = store.read(&bucket.name, name).await?;
    if existing.is_none() {
        let stored = store.names(&bucket.name).await?;
        let others = stored.iter().filter(|n| *n != name && !bucket.styles.contains_key(*n)).count();
        if bucket.styles.len() + others >= MAX_STYLES_PER_BUCKET {
            return Err(GatewayError::InvalidArgument(format!(
                "A bucket has at most {MAX_STYLES_PER_BUCKET} styles; delete one first."
            )));
        }
    }
    let created = existing.map(|s| s.created);
    let style = store.write(&bucket.name, name, &content, chain, created).await?;
    state.styles.apply(&bucket.name, name, Some(style));
    tracing::info!(target: "pixgate::styles", bucket = bucket.name.as_str(), style = name, "style stored");
    Ok(Response::new(200).with_bytes("application/xml", Bytes::new(), false))
}

/// A style the configuration file defines cannot be changed through the API.
fn read_only(bucket: &BucketConfig, name: &str) -> Result<(), GatewayError> {
    if bucket.styles.contains_key(name) {
        return Err(GatewayError::InvalidArgument(format!(
            "The style {name} comes from Pixgate's configuration file: it is read-only through the Style API."
        )));
    }
    Ok(())
}

/// A style of the configuration file, as written there, with the time the file was loaded.
fn file_style(live: &Live, bucket: &BucketConfig, name: &str) -> Option<Shown> {
    if !bucket.styles.contains_key(name) {
        return None;
    }
    let content = live.config.raw.buckets.get(&bucket.name)?.styles.get(name)?.clone();
    Some(Shown { content, created: live.loaded_at, modified: live.loaded_at })
}

impl From<crate::styles::StoredStyle> for Shown {
    fn from(s: crate::styles::StoredStyle) -> Shown {
        Shown { content: s.content, created: s.created, modified: s.modified }
    }
}

const XML_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// One `<Style>` element; times in RFC 1123 format, as OSS prints them.
fn style_xml(out: &mut String, name: &str, shown: &Shown, indent: &str) {
    out.push_str(indent);
    out.push_str("<Style>\n");
    for (tag, value) in [
        ("Name", name.to_string()),
        ("Content", shown.content.clone()),
        ("CreateTime", httpdate::fmt_http_date(shown.created)),
        ("LastModifyTime", httpdate::fmt_http_date(shown.modified)),
    ] {
        out.push_str(indent);
        out.push_str("  <");
        out.push_str(tag);
        out.push('>');
        xml_escape(&value, out);
        out.push_str("</");
        out.push_str(tag);
        out.push_str(">\n");
    }
    out.push_str(indent);
    out.push_str("</Style>\n");
}

fn xml_response(xml: String) -> Response {
    Response::new(200).with_bytes("application/xml", Bytes::from(xml), false)
}

fn malformed(why: &str) -> GatewayError {
    GatewayError::MalformedXml(format!("The XML you provided was not well-formed: {why}"))
}

/// The `<Content>` of a `<Style>` body (`<Style><Content>image/...</Content></Style>`).
fn style_content(body: &[u8]) -> Result<String, GatewayError> {
    let text = std::str::from_utf8(body).map_err(|_| malformed("the body is not UTF-8 text."))?;
    let shape = "the body must be <Style><Content>image/...</Content></Style>.";
    let style = element(text, "Style").ok_or_else(|| malformed(shape))?;
    let raw = element(style, "Content").ok_or_else(|| malformed(shape))?.trim();
    if let Some(cdata) = raw.strip_prefix("<![CDATA[").and_then(|r| r.strip_suffix("]]>")) {
        return Ok(cdata.to_string());
    }
    if raw.contains('<') {
        return Err(malformed("Content must be text."));
    }
    unescape(raw).ok_or_else(|| malformed("Content has an unknown or broken character reference."))
}

/// The text between `<tag>` (or `<tag attr...>`) and the last `</tag>`.
fn element<'a>(text: &'a str, tag: &str) -> Option<&'a str> {
    let close = format!("</{tag}>");
    let mut from = 0;
    let start = loop {
        let at = text[from..].find(&format!("<{tag}"))? + from;
        let after = &text[at + 1 + tag.len()..];
        match after.chars().next() {
            Some('>') => break at + tag.len() + 2,
            Some(c) if c.is_whitespace() => break at + 1 + tag.len() + after.find('>')? + 1,
            _ => from = at + 1,
        }
    };
    let end = text.rfind(&close)?;
    (end >= start).then(|| &text[start..end])
}

/// XML text with its predefined entities and character references replaced.
fn unescape(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let end = rest[i..].find(';')? + i;
        let c = match &rest[i + 1..end] {
            "amp" => '&',
            "lt" => '<',
            "gt" => '>',
            "quot" => '"',
            "apos" => '\'',
            entity => {
                let number = entity.strip_prefix('#')?;
                let code = match number.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => number.parse().ok()?,
                };
                char::from_u32(code)?
            }
        };
        out.push(c);
        rest = &rest[end + 1..];
    }
    out.push_str(rest);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn style_bodies_as_the_sdks_send_them() {
        let oss2 =
            b"<?xml version='1.0' encoding='utf-8'?>\n<Style><Content>image/resize,p_50</Content></Style>";
        assert_eq!(style_content(oss2).unwrap(), "image/resize,p_50");
        let spaced = b"<Style>\n  <Content>\n    image/resize,w_10/quality,q_80\n  </Content>\n</Style>\n";
        assert_eq!(style_content(spaced).unwrap(), "image/resize,w_10/quality,q_80");
        let escaped = b"<Style xmlns=\"x\"><Content>image/watermark,text_&#x41;&amp;B</Content></Style>";
        assert_eq!(style_content(escaped).unwrap(), "image/watermark,text_A&B");
        let cdata = b"<Style><Content><![CDATA[image/resize,w_1]]></Content></Style>";
        assert_eq!(style_content(cdata).unwrap(), "image/resize,w_1");
        for bad in [
            &b""[..],
            b"<Style></Style>",
            b"<Styles><Content>image/resize,w_1</Content></Styles>",
            b"<Style><Content>a<b/></Content></Style>",
            b"<Style><Content>a&nope;</Content></Style>",
            b"<Style><Content>\xff</Content></Style>",
        ] {
            let e = style_content(bad).unwrap_err();
            assert_eq!(e.public().code, "MalformedXML", "{:?}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn styles_print_as_oss_does() {
        let at = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_589_976_435);
        let shown = Shown { content: "image/resize,w_1&x".into(), created: at, modified: at };
        let mut xml = String::new();
        style_xml(&mut xml, "small", &shown, "");
        assert_eq!(
            xml,
            "<Style>\n  <Name>small</Name>\n  <Content>image/resize,w_1&amp;x</Content>\n  \
             <CreateTime>Wed, 20 May 2020 12:07:15 GMT</CreateTime>\n  \
             <LastModifyTime>Wed, 20 May 2020 12:07:15 GMT</LastModifyTime>\n</Style>\n"
        );
    }
}
