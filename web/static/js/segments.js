// SMS segments as carriers count them (mirrors inbox/segments.py).
const GSM7_BASIC = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
const GSM7_EXTENSION = "^{}\\[~]|€\f";

export function segmentCount(body) {
  let units = 0;
  let gsm = true;
  for (const c of body) {
    if (GSM7_BASIC.includes(c)) units += 1;
    else if (GSM7_EXTENSION.includes(c)) units += 2;
    else { gsm = false; break; }
  }
  let single = 160, multi = 153;
  if (!gsm) {
    units = body.length; // UTF-16 code units, as UCS-2 counts them
    single = 70; multi = 67;
  }
  const segments = units <= single ? 1 : Math.ceil(units / multi);
  return { segments, encoding: gsm ? "GSM-7" : "UCS-2", units };
}
