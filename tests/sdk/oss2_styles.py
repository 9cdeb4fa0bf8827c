"""Manage a bucket's styles with Alibaba Cloud's official Python SDK (oss2), unchanged but for
the endpoint: put_bucket_style, get_bucket_style, list_bucket_style, delete_bucket_style.

Run by the integration test `styles::official_oss2_sdk_manages_styles` against a live Pixgate
whose fs origin has a public-read bucket `photos` holding `rocket.jpg`, with one style in the
configuration file (`fixed` = image/resize,w_30) and a style store. Environment: PIXGATE_URL,
PIXGATE_AK, PIXGATE_SK. Exits non-zero on the first failed check.
"""

import datetime
import email.utils
import os
import sys

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


def failure(fn):
    """The OssError `fn` raises, or None."""
    try:
        fn()
    except oss2.exceptions.OssError as e:
        return e
    return None


def error_code(fn):
    e = failure(fn)
    return (e.status, e.code) if e is not None else None


def jpeg_width(data):
    """The width in a JPEG's start-of-frame segment."""
    i = 2  # after the start-of-image marker, every segment has a length
    while i + 9 < len(data) and data[i] == 0xFF:
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte
            i += 1
            continue
        if marker in (0xC0, 0xC1, 0xC2):
            return int.from_bytes(data[i + 7:i + 9], "big")
        i += 2 + int.from_bytes(data[i + 2:i + 4], "big")
    return None


def recent(http_date):
    """An RFC 1123 date within five minutes of now."""
    at = email.utils.parsedate_to_datetime(http_date)
    return abs(datetime.datetime.now(datetime.timezone.utc) - at) < datetime.timedelta(minutes=5)


for version, auth, v4 in [
    ("v1", oss2.Auth(AK, SK), False),
    ("v4", oss2.ProviderAuthV4(oss2.credentials.StaticCredentialsProvider(AK, SK)), True),
]:
    b = oss2.Bucket(auth, URL, "photos", region=REGION if v4 else None)
    name = f"sdk-{version}"

    # Create, read back, use.
    check(b.put_bucket_style(name, "image/resize,w_40").status == 200, f"{version}: put")
    got = b.get_bucket_style(name)
    check(got.name == name and got.content == "image/resize,w_40", f"{version}: get")
    check(recent(got.create_time) and recent(got.last_modify_time), f"{version}: times {got.create_time}")
    styled = b.get_object("rocket.jpg", process=f"style/{name}").read()
    check(jpeg_width(styled) == 40, f"{version}: the stored style renders")
    check(styled == b.get_object("rocket.jpg", process="image/resize,w_40").read(), f"{version}: same as its chain")
    delimited = oss2.Bucket(oss2.AnonymousAuth(), URL, "photos").get_object(f"rocket.jpg!{name}").read()
    check(jpeg_width(delimited) == 40, f"{version}: the delimiter form")

    # Replace: the new content is used at once, CreateTime stays.
    check(b.put_bucket_style(name, "image/resize,w_60").status == 200, f"{version}: replace")
    again = b.get_bucket_style(name)
    check(again.content == "image/resize,w_60" and again.create_time == got.create_time, f"{version}: replaced")
    check(jpeg_width(b.get_object("rocket.jpg", process=f"style/{name}").read()) == 60, f"{version}: new content")

    # The list holds stored and configured styles.
    listed = {s.name: s for s in b.list_bucket_style().styles}
    check(listed.get(name) is not None and listed[name].content == "image/resize,w_60", f"{version}: list")
    check(listed.get("fixed") is not None and listed["fixed"].content == "image/resize,w_30", f"{version}: file style")

    # Refusals.
    check(error_code(lambda: b.put_bucket_style("bad", "image/resize,w_0")) == (400, "InvalidArgument"),
          f"{version}: invalid content")
    e = failure(lambda: b.put_bucket_style("fixed", "image/resize,w_10"))
    check(e is not None and e.status == 400 and "configuration file" in e.message, f"{version}: read-only")
    check(error_code(lambda: b.get_bucket_style("missing")) == (404, "NoSuchStyle"), f"{version}: missing")

    # Delete.
    check(b.delete_bucket_style(name).status == 204, f"{version}: delete")
    check(error_code(lambda: b.get_bucket_style(name)) == (404, "NoSuchStyle"), f"{version}: deleted")
    check(error_code(lambda: b.delete_bucket_style(name)) == (404, "NoSuchStyle"), f"{version}: deleted twice")

anonymous = oss2.Bucket(oss2.AnonymousAuth(), URL, "photos")
check(error_code(lambda: anonymous.put_bucket_style("x", "image/resize,w_10")) == (403, "AccessDenied"),
      "anonymous put")
check(error_code(lambda: anonymous.list_bucket_style()) == (403, "AccessDenied"), "anonymous list")
print(f"oss2 {oss2.__version__}: {checks} checks passed")
