use super::*;

fn creds() -> BTreeMap<String, String> {
    BTreeMap::from([("ak".to_string(), "sk".to_string())])
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

fn req<'a>(
    method: &'a str,
    bucket: &'a str,
    key: &'a str,
    query: &'a str,
    h: &'a http::HeaderMap,
) -> Request<'a> {
    Request { method, bucket, key, query: Some(query), headers: h }
}

#[test]
fn v1_query_vectors_from_the_sdk() {
    let h = http::HeaderMap::new();
    // docs/oss/signatures.md#vectors, vector 1.
    let q =
        "Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId";
    let r = req("GET", "bucket", "key", q, &h);
    assert_eq!(
        v1_string_to_sign(&r, &parse_query(Some(q)), "1699807420"),
        "GET\n\n\n1699807420\n/bucket/key?versionId=versionId"
    );
    assert_eq!(
        authenticate(&r, &creds(), "", at(1699807000)).unwrap(),
        Identity::Url { access_key_id: "ak".into() }
    );
    // Expired: checked before the signature.
    assert_eq!(authenticate(&r, &creds(), "", at(1699807421)).unwrap_err(), denied("Request has expired."));
    // Vector 2: STS token and a `+` in the key.
    let q = "Expires=1699808204&OSSAccessKeyId=ak&Signature=jzKYRrM5y6Br0dRFPaTGOsbrDhY%3D&security-token=token&versionId=versionId";
    let r = req("GET", "bucket", "key+123", q, &h);
    assert!(authenticate(&r, &creds(), "", at(1699808000)).is_ok());
    // The derived process vectors of docs/oss/signatures.md#v1-examples.
    let q = "x-oss-process=image%2Fresize%2Cw_100&OSSAccessKeyId=ak&Expires=1699807420&Signature=0dHkb3%2BsmQt17Wzdqmf83UC4KuE%3D";
    let r = req("GET", "bucket", "example.jpg", q, &h);
    assert!(authenticate(&r, &creds(), "", at(1699807000)).is_ok());
    let q = "x-oss-process=style/small&OSSAccessKeyId=ak&Expires=1699807420&Signature=vp33FWOfbJb/RpMSaNjHmrH3nkU=";
    let r = req("GET", "bucket", "example.jpg", q, &h);
    assert!(authenticate(&r, &creds(), "", at(1699807000)).is_ok());
}

#[test]
fn v1_failures_map_to_oss_codes() {
    let h = http::HeaderMap::new();
    let now = at(1699807000);
    let run = |q: &str| authenticate(&req("GET", "bucket", "key", q, &h), &creds(), "", now);
    assert_eq!(
        run(
            "Expires=1699807420&OSSAccessKeyId=nobody&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId"
        ),
        Err(AuthError::InvalidAccessKeyId)
    );
    // The sub-resource is signed: changing it breaks the signature.
    assert_eq!(
        run(
            "Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=other"
        ),
        Err(AuthError::SignatureDoesNotMatch)
    );
    // Parameters that are not sub-resources are not signed.
    assert!(
        run("Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId&utm=1")
            .is_ok()
    );
    assert!(matches!(run("OSSAccessKeyId=ak&Signature=x"), Err(AuthError::AccessDenied(_))));
    assert_eq!(
        run("Expires=1699807420&OSSAccessKeyId=ak&Signature=%%%"),
        Err(AuthError::SignatureDoesNotMatch)
    );
    // A repeated parameter in a signed request (the first value would be acted on).
    assert!(matches!(
        run(
            "versionId=evil&Expires=1699807420&OSSAccessKeyId=ak&Signature=dcLTea%2BYh9ApirQ8o8dOPqtvJXQ%3D&versionId=versionId"
        ),
        Err(AuthError::InvalidArgument(_))
    ));
    let mut with_header = http::HeaderMap::new();
    with_header.insert("authorization", "OSS ak:abc".parse().unwrap());
    let r = req("GET", "bucket", "key", "Expires=1&OSSAccessKeyId=ak&Signature=x", &with_header);
    assert!(matches!(authenticate(&r, &creds(), "", now), Err(AuthError::InvalidArgument(_))));
}

fn sign_v1(secret: &str, string_to_sign: &str) -> String {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(string_to_sign.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

#[test]
fn v1_header_signs_date_headers_and_resource() {
    let date = "Tue, 14 Nov 2023 16:00:00 GMT";
    let now = httpdate::parse_http_date(date).unwrap();
    let sts = format!(
        "GET\n\nimage/jpeg\n{date}\nx-oss-meta-a:1\nx-oss-user:me\n/photos/cat.jpg?x-oss-process=image/resize,w_10"
    );
    let mut h = http::HeaderMap::new();
    h.insert("date", date.parse().unwrap());
    h.insert("content-type", "image/jpeg".parse().unwrap());
    h.insert("x-oss-user", "me".parse().unwrap());
    h.insert("x-oss-meta-a", " 1 ".parse().unwrap());
    h.insert("authorization", format!("OSS ak:{}", sign_v1("sk", &sts)).parse().unwrap());
    let q = "x-oss-process=image%2Fresize%2Cw_10&t=1";
    let r = req("GET", "photos", "cat.jpg", q, &h);
    assert_eq!(authenticate(&r, &creds(), "", now).unwrap(), Identity::Header { access_key_id: "ak".into() });
    // 15 minutes of skew at most.
    assert_eq!(
        authenticate(&r, &creds(), "", now + Duration::from_secs(16 * 60)),
        Err(AuthError::RequestTimeTooSkewed)
    );
    let r = req("HEAD", "photos", "cat.jpg", q, &h);
    assert_eq!(authenticate(&r, &creds(), "", now), Err(AuthError::SignatureDoesNotMatch));
    // x-oss-date takes the Date line's place when present.
    let mut h2 = h.clone();
    h2.insert("x-oss-date", date.parse().unwrap());
    let sts2 = sts.replace("x-oss-meta-a:1\n", &format!("x-oss-date:{date}\nx-oss-meta-a:1\n"));
    h2.insert("authorization", format!("OSS ak:{}", sign_v1("sk", &sts2)).parse().unwrap());
    assert!(authenticate(&req("GET", "photos", "cat.jpg", q, &h2), &creds(), "", now).is_ok());
}

#[test]
fn v4_query_vectors_from_the_sdk() {
    // docs/oss/signatures.md#vectors, vector 3.
    let mut h = http::HeaderMap::new();
    h.insert("x-oss-head1", "value".parse().unwrap());
    h.insert("content-type", "application/octet-stream".parse().unwrap());
    h.insert("abc", "x".parse().unwrap());
    let q = "param1=value1&%2Bparam1=value3&%7Cparam1=value4&%2Bparam2&%7Cparam2&param2\
             &x-oss-signature-version=OSS4-HMAC-SHA256\
             &x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request\
             &x-oss-date=20231217T025437Z&x-oss-expires=599\
             &x-oss-signature=a39966c61718be0d5b14e668088b3fa07601033f6518ac7b523100014269c0fe";
    let r = req("PUT", "bucket", "1234+-/123/1.txt", q, &h);
    let now = at(1702781677 + 10);
    assert_eq!(
        v4_canonical_request(&r, &parse_query(Some(q)), &[]),
        "PUT\n/bucket/1234%2B-/123/1.txt\n%2Bparam1=value3&%2Bparam2&%7Cparam1=value4&%7Cparam2&param1=value1&param2\
         &x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request&x-oss-date=20231217T025437Z\
         &x-oss-expires=599&x-oss-signature-version=OSS4-HMAC-SHA256\n\
         content-type:application/octet-stream\nx-oss-head1:value\n\n\nUNSIGNED-PAYLOAD"
    );
    assert_eq!(authenticate(&r, &creds(), "", now).unwrap(), Identity::Url { access_key_id: "ak".into() });
    assert_eq!(
        authenticate(&r, &creds(), "cn-hangzhou", now).unwrap(),
        Identity::Url { access_key_id: "ak".into() }
    );
    assert!(matches!(authenticate(&r, &creds(), "cn-beijing", now), Err(AuthError::AccessDenied(_))));
    assert_eq!(authenticate(&r, &creds(), "", at(1702781677 + 600)), Err(denied("Request has expired.")));
    // Vector 4: a process request.
    let h = http::HeaderMap::new();
    let q = "x-oss-process=image%2Fresize%2Cw_100&x-oss-signature-version=OSS4-HMAC-SHA256\
             &x-oss-credential=ak%2F20231217%2Fcn-hangzhou%2Foss%2Faliyun_v4_request\
             &x-oss-date=20231217T025437Z&x-oss-expires=599\
             &x-oss-signature=38029efc21b33df96a5bc0a3500a4094263e5a34407d92edd4735ea8905eae14";
    let r = req("GET", "bucket", "example.jpg", q, &h);
    assert!(authenticate(&r, &creds(), "", now).is_ok());
    let tampered = q.replace("w_100", "w_101");
    let r = req("GET", "bucket", "example.jpg", &tampered, &h);
    assert_eq!(authenticate(&r, &creds(), "", now), Err(AuthError::SignatureDoesNotMatch));
    // A second x-oss-process in front of the signed one.
    let doubled = format!("x-oss-process=image%2Frotate%2C0&{q}");
    let r = req("GET", "bucket", "example.jpg", &doubled, &h);
    assert!(matches!(authenticate(&r, &creds(), "", now), Err(AuthError::InvalidArgument(_))));
    // Missing pieces.
    let r = req(
        "GET",
        "bucket",
        "example.jpg",
        "x-oss-signature-version=OSS4-HMAC-SHA256&x-oss-signature=00",
        &h,
    );
    assert!(matches!(authenticate(&r, &creds(), "", now), Err(AuthError::AccessDenied(_))));
}

#[test]
fn v4_header_form() {
    let mut h = http::HeaderMap::new();
    h.insert("x-oss-date", "20231217T025437Z".parse().unwrap());
    h.insert("x-oss-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    h.insert("host", "bucket.example.com".parse().unwrap());
    let q = "x-oss-process=image%2Fresize%2Cw_100";
    let params = parse_query(Some(q));
    let additional = vec!["host".to_string()];
    let r = req("GET", "bucket", "example.jpg", q, &h);
    let canonical = v4_canonical_request(&r, &params, &additional);
    assert_eq!(
        canonical,
        "GET\n/bucket/example.jpg\nx-oss-process=image%2Fresize%2Cw_100\nhost:bucket.example.com\n\
         x-oss-content-sha256:UNSIGNED-PAYLOAD\nx-oss-date:20231217T025437Z\n\nhost\nUNSIGNED-PAYLOAD"
    );
    let sts = format!(
        "OSS4-HMAC-SHA256\n20231217T025437Z\n20231217/cn-hangzhou/oss/aliyun_v4_request\n{}",
        hex(&Sha256::digest(canonical.as_bytes()))
    );
    let mut key = hmac256(b"aliyun_v4sk", "20231217").finalize().into_bytes();
    for part in ["cn-hangzhou", "oss", "aliyun_v4_request"] {
        key = hmac256(&key, part).finalize().into_bytes();
    }
    let sig: String =
        hmac256(&key, &sts).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    h.insert(
        "authorization",
        format!(
            "OSS4-HMAC-SHA256 Credential=ak/20231217/cn-hangzhou/oss/aliyun_v4_request, Signature={sig}, AdditionalHeaders=host"
        )
        .parse()
        .unwrap(),
    );
    let r = req("GET", "bucket", "example.jpg", q, &h);
    let now = at(1702781677);
    assert_eq!(authenticate(&r, &creds(), "", now).unwrap(), Identity::Header { access_key_id: "ak".into() });
    assert_eq!(authenticate(&r, &creds(), "", at(1702781677 + 3600)), Err(AuthError::RequestTimeTooSkewed));
    let r = req("GET", "bucket", "other.jpg", q, &h);
    assert_eq!(authenticate(&r, &creds(), "", now), Err(AuthError::SignatureDoesNotMatch));
}

#[test]
fn dates() {
    assert_eq!(parse_iso_basic("20231217T025437Z"), Some(1702781677));
    assert_eq!(parse_iso_basic("19700101T000000Z"), Some(0));
    assert_eq!(parse_iso_basic("20240229T000000Z"), Some(1709164800));
    for bad in ["20231317T025437Z", "2023121T025437Z", "20231217 025437Z", "2023121xT025437Z", ""] {
        assert_eq!(parse_iso_basic(bad), None, "{bad}");
    }
    assert_eq!(parse_any_date("Sun, 17 Dec 2023 02:54:37 GMT"), Some(1702781677));
}

/// The Style API as the official Python SDK (oss2 2.19.1) signs it, captured from the SDK with
/// AccessKeyId `AK` and secret `SK`: a bucket-level request has the empty key, so V1's resource
/// is `/<bucket>/` with `style` and `styleName` as sub-resources, and V4's URI is `/<bucket>/`.
#[test]
fn bucket_level_style_requests_as_oss2_signs_them() {
    let creds = BTreeMap::from([("AK".to_string(), "SK".to_string())]);
    let now = at(1_796_525_364);
    let named = "style=&styleName=small";
    let mut h = http::HeaderMap::new();
    h.insert("date", "Sun, 06 Dec 2026 02:49:24 GMT".parse().unwrap());
    for (method, query, signature) in [
        ("PUT", named, "99QAm52OyNibqqoNWvt4U6XqEvk="),
        ("GET", named, "DnR7yFPuWha2S3XDaIlESBjnfGA="),
        ("GET", "style=", "P3z1CLLOX21N8wod4g3snrXPUYA="),
        ("DELETE", named, "gkFAMjuWVhqEaV7B7MmHQOHnA2w="),
    ] {
        h.insert("authorization", format!("OSS AK:{signature}").parse().unwrap());
        let r = req(method, "photos", "", query, &h);
        let resource = if query == named { "/photos/?style&styleName=small" } else { "/photos/?style" };
        assert_eq!(v1_resource(&r, &parse_query(Some(query))), resource);
        assert_eq!(
            authenticate(&r, &creds, "", now).unwrap(),
            Identity::Header { access_key_id: "AK".into() },
            "V1 {method} {query}"
        );
    }
    let mut h = http::HeaderMap::new();
    h.insert("x-oss-date", "20261206T024924Z".parse().unwrap());
    h.insert("x-oss-content-sha256", "UNSIGNED-PAYLOAD".parse().unwrap());
    for (method, query, signature) in [
        ("PUT", named, "7f4140aa06e194daa15c5b6925ed39840ea4dd5db4522e4f0d0b9a22a0ea76bf"),
        ("GET", named, "9f8b84f2b423dc67b34cdbe58e799684cb81da1d9ad80c1adca648c31336b292"),
        ("GET", "style=", "c0a237910966c57464efce5e7f489ec5a868b2fe2091507b1ef8d9376455ae5c"),
        ("DELETE", named, "3d528bc398c74855c4e00d9ceaa55807f21632f95383c36d0319e9e5ef94dde4"),
    ] {
        let auth = format!(
            "OSS4-HMAC-SHA256 Credential=AK/20261206/cn-hangzhou/oss/aliyun_v4_request, Signature={signature}"
        );
        h.insert("authorization", auth.parse().unwrap());
        let r = req(method, "photos", "", query, &h);
        assert_eq!(
            authenticate(&r, &creds, "cn-hangzhou", now).unwrap(),
            Identity::Header { access_key_id: "AK".into() },
            "V4 {method} {query}"
        );
    }
}
