//! `average-hue`: the image's average colour as OSS's JSON, `{"RGB": "0x5c783b"}`.
//!
//! The pipeline may hand over a JPEG decoded at 1/2..1/8 scale in the DCT domain: each pixel
//! of such a frame is the mean of its block, so the mean of the frame is the image's mean.

use crate::frame::Frame;

/// The mean of each colour channel, rounded half up; with alpha, each pixel counts by its
/// opacity (fully transparent pixels do not count).
pub fn average_rgb(f: &Frame) -> [u8; 3] {
    let mut sum = [0u64; 3];
    let mut n = 0u64;
    for px in f.data.chunks_exact(f.channels as usize) {
        let w = if f.channels == 4 { u64::from(px[3]) } else { 255 };
        sum[0] += u64::from(px[0]) * w;
        sum[1] += u64::from(px[1]) * w;
        sum[2] += u64::from(px[2]) * w;
        n += w;
    }
    if n == 0 {
        return [0, 0, 0];
    }
    sum.map(|s| ((s + n / 2) / n).min(255) as u8)
}

/// The JSON answer for `image/average-hue`.
pub fn average_hue(f: &Frame) -> String {
    let [r, g, b] = average_rgb(f);
    format!("{{\"RGB\": \"0x{r:02x}{g:02x}{b:02x}\"}}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mean_of_two_colours() {
        let f = Frame::from_raw(2, 1, 3, vec![0, 100, 255, 184, 140, 0]).unwrap();
        assert_eq!(average_rgb(&f), [92, 120, 128]);
        assert_eq!(average_hue(&f), "{\"RGB\": \"0x5c7880\"}");
        let f = Frame::from_raw(2, 1, 4, vec![1, 2, 3, 0, 200, 100, 50, 255]).unwrap();
        assert_eq!(average_rgb(&f), [200, 100, 50], "a transparent pixel does not count");
    }
}
