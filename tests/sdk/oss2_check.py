"""Drive Pixgate with Alibaba Cloud's official Python SDK (oss2), unchanged but for the endpoint.

Run by the integration test `access::official_oss2_sdk` against a live Pixgate whose fs origin
has buckets `private` (acl private, style `small` = resize,w_40) and `public`, each holding
`rocket.jpg`. Environment: PIXGATE_URL, PIXGATE_AK, PIXGATE_SK. Exits non-zero on the first
failed check.
"""

import base64
import json
import os
import sys
import urllib.error
import urllib.request

import oss2

URL = os.environ["PIXGATE_URL"]
AK = os.environ["PIXGATE_AK"]
SK = os.environ["PIXGATE_SK"]
REGION = "cn-hangzhou"
checks = 0


def check(cond, what):
    global checks
    checks += 1
    if not cond:
        print(f"FAILED: {what}", file=sys.stderr)
        sys.exit(1)


def b64(s):
    return base64.urlsafe_b64encode(s.encode()).decode().rstrip("=")


def info(bucket, key):
    return json.loads(bucket.get_object(key, process="image/info").read())


def error_code(fn):
    try:
        fn()
    except oss2.exceptions.OssError as e:
        return e.status, e.code
    return None


def bucket(auth, name, v4):
    return oss2.Bucket(auth, URL, name, region=REGION if v4 else None)


for version, auth, v4 in [
    ("v1", oss2.Auth(AK, SK), False),
    ("v4", oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, SK)), True),
]:
    b = bucket(auth, "private", v4)
    # Header-signed GET of the original, HEAD, and processed variants.
    original = b.get_object("rocket.jpg").read()
    check(original[:2] == b"\xff\xd8", f"{version}: original is a JPEG")
    check(b.head_object("rocket.jpg").content_length == len(original), f"{version}: HEAD length")
    check(int(info(b, "rocket.jpg")["ImageWidth"]["value"]) > 100, f"{version}: info")
    small = b.get_object("rocket.jpg", process="image/resize,w_50").read()
    check(small[:2] == b"\xff\xd8", f"{version}: processed JPEG")
    styled = b.get_object("rocket.jpg", process="style/small").read()
    check(styled[:2] == b"\xff\xd8" and styled != small, f"{version}: style")

    # Presigned URLs, fetched by a plain HTTP client.
    for params in [None, {"x-oss-process": "image/resize,w_50"}, {"x-oss-process": "style/small"}]:
        url = b.sign_url("GET", "rocket.jpg", 60, params=params)
        with urllib.request.urlopen(url) as r:
            check(r.status == 200, f"{version}: presigned {params}")
    tampered = b.sign_url("GET", "rocket.jpg", 60, params={"x-oss-process": "image/resize,w_50"})
    tampered = tampered.replace("w_50", "w_51")
    try:
        urllib.request.urlopen(tampered)
        check(False, f"{version}: a tampered presigned URL is refused")
    except urllib.error.HTTPError as e:
        check(e.code == 403 and b"SignatureDoesNotMatch" in e.read(), f"{version}: tampered URL code")

    # sys/saveas through process_object, then read the result back.
    target = f"sdk/{version}.jpg"
    res = b.process_object("rocket.jpg", f"image/resize,w_32|sys/saveas,o_{b64(target)},b_{b64('private')}")
    check(res.status == 200, f"{version}: saveas status")
    check(res.object == target and res.bucket == "private" and res.fileSize > 0, f"{version}: saveas JSON")
    check(int(info(b, target)["ImageWidth"]["value"]) == 32, f"{version}: saved object width")

    # Refusals the SDK reports as OSS errors.
    wrong = bucket(
        oss2.Auth(AK, "wrong")
        if not v4
        else oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, "wrong")),
        "private",
        v4,
    )
    check(error_code(lambda: wrong.get_object("rocket.jpg").read()) == (403, "SignatureDoesNotMatch"),
          f"{version}: wrong secret")
    nobody = bucket(
        oss2.Auth("NOBODY", SK)
        if not v4
        else oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider("NOBODY", SK)),
        "private",
        v4,
    )
    check(error_code(lambda: nobody.get_object("rocket.jpg").read()) == (403, "InvalidAccessKeyId"),
          f"{version}: unknown key")
    check(error_code(lambda: b.get_object("missing.jpg").read()) == (404, "NoSuchKey"), f"{version}: missing")
    check(error_code(lambda: b.get_object("rocket.jpg", process="image/resize,w_0").read())[0] == 400,
          f"{version}: bad parameter")

anonymous = oss2.Bucket(oss2.AnonymousAuth(), URL, "private")
check(error_code(lambda: anonymous.get_object("rocket.jpg").read()) == (403, "AccessDenied"), "anonymous private")
public = oss2.Bucket(oss2.AnonymousAuth(), URL, "public")
check(public.get_object("rocket.jpg", process="image/resize,w_20").read()[:2] == b"\xff\xd8", "anonymous public")
print(f"oss2 {oss2.__version__}: {checks} checks passed")
