//! Property tests of the `x-oss-process` grammar (`pixgate_ops::spec`).
//!
//! * Valid chains generated from the grammar (random parameter order, number spellings with
//!   leading zeros or `+`, both base64 alphabets, padding or not, unknown keys) parse, and their
//!   canonical form is a fixed point: `parse(print(parse(s))) == parse(s)` and printing again gives
//!   the same string.
//! * Two spellings that differ only in parameter order give the same chain; `ignore-error`
//!   anywhere in a chain gives the chain with it last.
//! * Arbitrary strings, arbitrary strings after `image/`, and soups of grammar tokens never panic.
//! * A standard-alphabet base64 watermark text whose `/` splits the chain is rejected, never
//!   silently cut short.

use pixgate_ops::spec::{
    ACTION_NAMES, Action, Process, encode_base64_url, parse_image, parse_process, parse_style_content,
};
use proptest::prelude::*;

const MODES: &[&str] = &["lfit", "mfit", "fill", "pad", "fixed"];
const GRAVITIES: &[&str] = &["nw", "north", "ne", "west", "center", "east", "sw", "south", "se"];
const FONTS: &[&str] = &["wqy-zenhei", "wqy-microhei", "fangzhengshusong", "droidsansfallback"];
const FORMATS: &[&str] = &["jpg", "jpeg", "png", "webp", "bmp", "gif", "tiff", "heic", "avif"];

/// An action as generated: its name and its `key_value` (or bare) parameters, in canonical
/// generator order.
type Parts = (&'static str, Vec<String>);

/// A decimal spelling of an integer in `[lo, hi]`: plain, with leading zeros, or with `+`.
fn num(lo: i64, hi: i64) -> impl Strategy<Value = String> {
    (lo..=hi, 0u8..4).prop_map(|(n, style)| match style {
        0 if n >= 0 => format!("+{n}"),
        1 if n >= 0 => format!("00{n}"),
        _ => n.to_string(),
    })
}

/// `RRGGBB` in either case.
fn color() -> impl Strategy<Value = String> {
    (any::<[u8; 3]>(), any::<bool>()).prop_map(|([r, g, b], lower)| {
        let s = format!("{r:02X}{g:02X}{b:02X}");
        if lower { s.to_lowercase() } else { s }
    })
}

/// Base64 of `bytes`, in one of the spellings OSS clients use: URL-safe without padding,
/// URL-safe with padding, standard with padding.
fn b64(bytes: &[u8], style: u8) -> String {
    let url = encode_base64_url(bytes);
    let pad = "=".repeat((4 - url.len() % 4) % 4);
    match style % 3 {
        0 => url,
        1 => format!("{url}{pad}"),
        _ => format!("{}{pad}", url.replace('-', "+").replace('_', "/")),
    }
}

/// Like [`b64`] but never the standard alphabet: inside `image/...` a `/` would split the action.
fn b64_in_chain(bytes: &[u8], style: u8) -> String {
    b64(bytes, style % 2)
}

/// `key_<value>` when the value is present.
fn opt(key: &'static str, v: impl Strategy<Value = String>) -> impl Strategy<Value = Option<String>> {
    prop::option::of(v).prop_map(move |v| v.map(|v| format!("{key}_{v}")))
}

fn parts(name: &'static str, params: Vec<Option<String>>) -> Parts {
    (name, params.into_iter().flatten().collect())
}

fn resize() -> impl Strategy<Value = Parts> {
    let mode = prop::sample::select(MODES).prop_map(str::to_owned);
    (
        opt("m", mode),
        opt("w", num(1, 16384)),
        opt("h", num(1, 16384)),
        opt("l", num(1, 16384)),
        opt("s", num(1, 16384)),
        opt("p", num(1, 1000)),
        opt("limit", num(0, 1)),
        opt("color", color()),
        opt("zz", num(0, 9)),
    )
        .prop_map(|(m, w, h, l, s, p, limit, color, unknown)| {
            let has_size = [&w, &h, &l, &s, &p].iter().any(|v| v.is_some());
            // resize needs a size; fall back to a width when none was drawn
            let w = if has_size { w } else { Some("w_100".to_owned()) };
            parts("resize", vec![m, w, h, l, s, p, limit, color, unknown])
        })
}

fn gravity() -> impl Strategy<Value = String> {
    prop::sample::select(GRAVITIES).prop_map(str::to_owned)
}

fn crop() -> impl Strategy<Value = Parts> {
    (
        opt("w", num(0, 100_000)),
        opt("h", num(0, 100_000)),
        opt("x", num(0, 100_000)),
        opt("y", num(0, 100_000)),
        opt("g", gravity()),
        opt("r", num(0, 9)), // the OSS SDK tests' unknown key
    )
        .prop_map(|(w, h, x, y, g, r)| parts("crop", vec![w, h, x, y, g, r]))
}

fn indexcrop() -> impl Strategy<Value = Parts> {
    // `x_` alone, `y_` alone, or both (then `y` wins)
    (prop::option::of(num(1, 5000)), opt("y", num(1, 5000)), opt("i", num(0, 100))).prop_map(|(x, y, i)| {
        let x = match (x, &y) {
            (None, None) => Some("x_100".to_owned()),
            (x, _) => x.map(|x| format!("x_{x}")),
        };
        parts("indexcrop", vec![x, y, i])
    })
}

/// `key?x-oss-process=image/...` pre-processing for a watermark image.
fn pre_process() -> impl Strategy<Value = Option<String>> {
    prop::option::of(prop_oneof![
        num(1, 100).prop_map(|p| format!("resize,P_{p}")),
        (num(1, 4096), num(1, 4096)).prop_map(|(w, h)| format!("resize,w_{w},h_{h}")),
        (num(0, 500), gravity()).prop_map(|(w, g)| format!("crop,w_{w},g_{g}")),
        num(1, 500).prop_map(|x| format!("indexcrop,x_{x},i_0")),
        num(1, 4096).prop_map(|r| format!("rounded-corners,r_{r}")),
        num(0, 360).prop_map(|a| format!("rotate,{a}")),
        (num(1, 100), num(0, 360)).prop_map(|(p, a)| format!("resize,P_{p}/rotate,{a}")),
    ])
}

fn watermark() -> impl Strategy<Value = Parts> {
    // at most 64 bytes of UTF-8: 64 ASCII or 21 CJK characters
    let text = (prop_oneof!["[a-zA-Z0-9 !,.]{1,64}", "[a-zA-Z0-9 !,.图片服务]{1,21}"], any::<u8>())
        .prop_map(|(t, st)| b64_in_chain(t.as_bytes(), st));
    let font = (prop::sample::select(FONTS), any::<u8>()).prop_map(|(f, st)| b64_in_chain(f.as_bytes(), st));
    let image =
        ("[a-z0-9]{1,12}(/[a-z0-9]{1,8})?\\.png", pre_process(), any::<u8>()).prop_map(|(key, pre, st)| {
            let full = match pre {
                Some(p) => format!("{key}?x-oss-process=image/{p}"),
                None => key,
            };
            b64_in_chain(full.as_bytes(), st)
        });
    let basic = (
        opt("t", num(0, 100)),
        opt("g", gravity()),
        opt("x", num(0, 4096)),
        opt("y", num(0, 4096)),
        opt("voffset", num(-1000, 1000)),
        opt("fill", num(0, 1)),
        opt("padx", num(0, 4096)),
        opt("pady", num(0, 4096)),
    );
    let text_opts = (
        opt("type", font),
        opt("color", color()),
        opt("size", num(1, 1000)),
        opt("shadow", num(0, 100)),
        opt("rotate", num(0, 360)),
    );
    let mixed = (opt("order", num(0, 1)), opt("align", num(0, 2)), opt("interval", num(0, 1000)));
    (basic, opt("text", text), opt("image", image), text_opts, mixed).prop_map(
        |(
            (t, g, x, y, voffset, fill, padx, pady),
            text,
            image,
            (font, color, size, shadow, rotate),
            (order, align, interval),
        )| {
            // a watermark needs text or an image
            let text = if text.is_none() && image.is_none() { Some("text_SGVsbG8".to_owned()) } else { text };
            parts(
                "watermark",
                vec![
                    t, g, x, y, voffset, fill, padx, pady, text, image, font, color, size, shadow, rotate,
                    order, align, interval,
                ],
            )
        },
    )
}

fn single(name: &'static str, v: impl Strategy<Value = String>) -> impl Strategy<Value = Parts> {
    v.prop_map(move |v| (name, vec![v]))
}

fn quality() -> impl Strategy<Value = Parts> {
    (opt("q", num(1, 100)), opt("Q", num(1, 100)), prop::option::of(num(1, 100))).prop_map(
        |(q, upper, bare)| {
            let q =
                if q.is_none() && upper.is_none() && bare.is_none() { Some("q_90".to_owned()) } else { q };
            parts("quality", vec![q, upper, bare])
        },
    )
}

fn format() -> impl Strategy<Value = String> {
    prop::sample::select(FORMATS).prop_map(str::to_owned)
}

/// Any action that may share a chain with others.
fn action() -> impl Strategy<Value = Parts> {
    prop_oneof![
        resize(),
        watermark(),
        crop(),
        indexcrop(),
        (num(1, 4096), opt("zz", num(0, 9)))
            .prop_map(|(r, z)| parts("circle", vec![Some(format!("r_{r}")), z])),
        num(1, 4096).prop_map(|r| ("rounded-corners", vec![format!("r_{r}")])),
        single("rotate", num(0, 360)),
        single("auto-orient", num(0, 1)),
        (num(1, 50), num(1, 50)).prop_map(|(r, s)| ("blur", vec![format!("r_{r}"), format!("s_{s}")])),
        single("bright", num(-100, 100)),
        single("contrast", num(-100, 100)),
        single("sharpen", num(50, 399)),
        quality(),
        single("format", format()),
        single("interlace", num(0, 1)),
    ]
}

fn render(name: &str, params: &[String]) -> String {
    if params.is_empty() { name.to_owned() } else { format!("{name},{}", params.join(",")) }
}

/// One action with its parameters in a random order.
fn shuffled_action() -> impl Strategy<Value = String> {
    action().prop_flat_map(|(name, params)| Just(params).prop_shuffle().prop_map(move |p| render(name, &p)))
}

/// `ignore-error,<0|1>` inserted at any position of `actions`, or not at all.
fn with_ignore_error(actions: Vec<String>) -> impl Strategy<Value = Vec<String>> {
    let n = actions.len();
    prop::option::of((0..=n, num(0, 1))).prop_map(move |e| {
        let mut a = actions.clone();
        if let Some((at, v)) = e {
            a.insert(at, format!("ignore-error,{v}"));
        }
        a
    })
}

/// A valid `image/...` string.
fn chain() -> impl Strategy<Value = String> {
    let standalone = prop::sample::select(vec!["info", "average-hue"]).prop_map(|a| vec![a.to_owned()]);
    prop_oneof![
        8 => prop::collection::vec(shuffled_action(), 1..6),
        2 => standalone,
    ]
    .prop_flat_map(with_ignore_error)
    .prop_map(|a| format!("image/{}", a.join("/")))
}

/// A valid whole `x-oss-process` value.
fn process() -> impl Strategy<Value = String> {
    let head = prop_oneof![chain(), "[A-Za-z0-9_.-]{1,63}".prop_map(|n| format!("style/{n}"))];
    let saveas = prop::option::of((
        "[a-z0-9]{1,10}(/[a-z0-9]{1,10})?\\.jpg",
        prop::option::of("[a-z0-9][a-z0-9-]{1,20}[a-z0-9]"),
        any::<u8>(),
        any::<bool>(),
    ))
    .prop_map(|s| {
        s.map(|(object, bucket, st, bucket_first)| {
            let o = format!("o_{}", b64(object.as_bytes(), st));
            match bucket {
                Some(b) => {
                    let b = format!("b_{}", b64(b.as_bytes(), st / 3));
                    if bucket_first { format!("|sys/saveas,{b},{o}") } else { format!("|sys/saveas,{o},{b}") }
                }
                None => format!("|sys/saveas,{o}"),
            }
        })
    });
    (head, saveas)
        // info and average-hue answer JSON: they cannot be saved
        .prop_filter("info/average-hue cannot be saved", |(h, s)| {
            s.is_none() || !h.split('/').any(|a| a == "info" || a == "average-hue")
        })
        .prop_map(|(h, s)| format!("{h}{}", s.unwrap_or_default()))
}

/// Tokens of the grammar, glued at random: mostly invalid, sometimes valid.
fn soup() -> impl Strategy<Value = String> {
    let mut tokens: Vec<&'static str> = ACTION_NAMES.to_vec();
    tokens.extend([
        "ignore-error",
        "image/",
        "style/",
        "/",
        ",",
        "_",
        "|",
        "sys/saveas",
        "o_",
        "b_",
        "w_",
        "h_",
        "m_",
        "P_",
        "Q_",
        "q_",
        "x_",
        "y_",
        "g_",
        "r_",
        "i_",
        "text_",
        "image_",
        "type_",
        "color_",
        "0",
        "1",
        "-1",
        "100",
        "4096",
        "16384",
        "99999999999999999999",
        "lfit",
        "pad",
        "se",
        "png",
        "YQ",
        "SGVsbG8",
        "==",
        "?x-oss-process=",
        "é",
        "\u{0}",
    ]);
    prop::collection::vec(prop::sample::select(tokens), 0..16).prop_map(|t| t.concat())
}

fn assert_fixed_point(input: &str) -> Result<(), TestCaseError> {
    let chain = parse_image(input).map_err(|e| TestCaseError::fail(format!("{input:?}: {e}")))?;
    let printed = chain.to_string();
    let again = parse_image(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
    prop_assert_eq!(&again, &chain, "{:?} printed as {:?}", input, printed);
    prop_assert_eq!(again.to_string(), printed);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    #[test]
    fn valid_chains_are_canonical_fixed_points(s in chain()) {
        assert_fixed_point(&s)?;
    }

    #[test]
    fn parameter_order_does_not_matter((name, params, shuffled) in action()
        .prop_flat_map(|(name, params)| (Just(name), Just(params.clone()), Just(params).prop_shuffle())))
    {
        let a = parse_image(&format!("image/{}", render(name, &params)));
        let b = parse_image(&format!("image/{}", render(name, &shuffled)));
        prop_assert!(a.is_ok(), "{:?}", a);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn ignore_error_prints_last_wherever_it_is_written(
        actions in prop::collection::vec(shuffled_action(), 1..5),
        at in any::<prop::sample::Index>(),
        value in num(0, 1),
    ) {
        let mut moved = actions.clone();
        moved.insert(at.index(actions.len() + 1), format!("ignore-error,{value}"));
        let mut last = actions.clone();
        last.push(format!("ignore-error,{value}"));
        let a = parse_image(&format!("image/{}", moved.join("/")))
            .map_err(|e| TestCaseError::fail(format!("{moved:?}: {e}")))?;
        let b = parse_image(&format!("image/{}", last.join("/")))
            .map_err(|e| TestCaseError::fail(format!("{last:?}: {e}")))?;
        let without = parse_image(&format!("image/{}", actions.join("/")))
            .map_err(|e| TestCaseError::fail(format!("{actions:?}: {e}")))?;
        prop_assert_eq!(&a, &b);
        prop_assert_eq!(a.actions, without.actions.clone());
        let set = value.trim_start_matches(['+', '0']) == "1";
        prop_assert_eq!(b.ignore_error, set);
        let printed = b.to_string();
        if set {
            prop_assert_eq!(printed, format!("{without}/ignore-error,1"));
        } else {
            prop_assert_eq!(printed, without.to_string());
        }
    }

    #[test]
    fn valid_process_values_round_trip(s in process()) {
        let req = parse_process(&s).map_err(|e| TestCaseError::fail(format!("{s:?}: {e}")))?;
        let printed = req.to_string();
        let again = parse_process(&printed).map_err(|e| TestCaseError::fail(format!("{printed:?}: {e}")))?;
        prop_assert_eq!(&again, &req);
        prop_assert_eq!(again.to_string(), printed);
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        let _ = parse_process(&s);
        let _ = parse_image(&s);
        let _ = parse_style_content(&s);
    }

    #[test]
    fn arbitrary_image_suffixes_never_panic(s in "\\PC{0,200}") {
        let full = format!("image/{s}");
        if parse_image(&full).is_ok() {
            assert_fixed_point(&full)?;
        }
        let _ = parse_process(&full);
    }

    #[test]
    fn standard_base64_in_a_chain_is_never_cut_short(
        text in "[a-zA-Z0-9 !,.?>~图片服务]{1,21}",
        tail in prop::sample::select(vec!["", "/", "/rotate,90", "//rotate,90", "/rotate,90/"]),
    ) {
        let url = encode_base64_url(text.as_bytes());
        let standard = url.replace('-', "+").replace('_', "/");
        let s = format!("image/watermark,text_{standard}{tail}");
        let cut = standard.contains('/') || tail == "/" || tail.starts_with("//");
        match parse_image(&s) {
            Ok(chain) => {
                prop_assert!(!cut, "{:?} accepted as {}", s, chain);
                let Some(Action::Watermark(w)) = chain.actions.first() else {
                    return Err(TestCaseError::fail(format!("{s:?}: {chain:?}")));
                };
                prop_assert_eq!(w.text.as_ref().map(|t| t.text.as_str()), Some(text.as_str()));
            }
            Err(e) => {
                prop_assert!(cut, "{:?}: {}", s, e);
                prop_assert!(e.message.contains("must use the URL-safe alphabet"), "{:?}: {}", s, e);
            }
        }
    }

    #[test]
    fn grammar_soup_never_panics(s in soup()) {
        if let Ok(req) = parse_process(&s)
            && let Process::Image(chain) = req.process
        {
            assert_fixed_point(&chain.to_string())?;
        }
        let _ = parse_image(&s);
    }
}
