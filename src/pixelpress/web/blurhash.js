// A BlurHash decoder, written from the published algorithm (https://blurha.sh): the hash holds
// a few DCT components in base 83; the picture is their sum, in linear light.

const DIGITS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~';

function base83(text) {
  let value = 0;
  for (const ch of text) {
    const digit = DIGITS.indexOf(ch);
    if (digit < 0) throw new Error('not a blurhash');
    value = value * 83 + digit;
  }
  return value;
}

const toLinear = (v) => {
  const x = v / 255;
  return x <= 0.04045 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
};

const toSrgb = (v) => {
  const x = Math.min(1, Math.max(0, v));
  return Math.round((x <= 0.0031308 ? x * 12.92 : 1.055 * x ** (1 / 2.4) - 0.055) * 255);
};

const signedSquare = (v) => Math.sign(v) * v * v;

/** RGBA pixels (a Uint8ClampedArray of width*height*4) of `hash`. */
export function decode(hash, width, height, punch = 1) {
  const size = base83(hash[0]);
  const nx = (size % 9) + 1;
  const ny = Math.floor(size / 9) + 1;
  if (hash.length !== 4 + 2 * nx * ny) throw new Error('blurhash length does not match');
  const maximum = ((base83(hash[1]) + 1) / 166) * punch;
  const colours = [];
  const dc = base83(hash.slice(2, 6));
  colours.push([toLinear(dc >> 16), toLinear((dc >> 8) & 255), toLinear(dc & 255)]);
  for (let i = 1; i < nx * ny; i++) {
    const ac = base83(hash.slice(4 + i * 2, 6 + i * 2));
    colours.push([
      signedSquare((Math.floor(ac / 361) - 9) / 9) * maximum,
      signedSquare(((Math.floor(ac / 19) % 19) - 9) / 9) * maximum,
      signedSquare(((ac % 19) - 9) / 9) * maximum,
    ]);
  }
  const pixels = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (let j = 0; j < ny; j++) {
        const cy = Math.cos((Math.PI * y * j) / height);
        for (let i = 0; i < nx; i++) {
          const basis = Math.cos((Math.PI * x * i) / width) * cy;
          const c = colours[i + j * nx];
          r += c[0] * basis;
          g += c[1] * basis;
          b += c[2] * basis;
        }
      }
      const at = 4 * (x + y * width);
      pixels[at] = toSrgb(r);
      pixels[at + 1] = toSrgb(g);
      pixels[at + 2] = toSrgb(b);
      pixels[at + 3] = 255;
    }
  }
  return pixels;
}

/** Paints `canvas` with the dominant colour at once, then the BlurHash over it. */
export function paint(canvas, placeholder) {
  if (!placeholder) return;
  const ctx = canvas.getContext('2d');
  ctx.fillStyle = placeholder.dominant_color;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  canvas.dataset.painted = 'colour';
  requestAnimationFrame(() => {
    try {
      const pixels = decode(placeholder.blurhash, canvas.width, canvas.height);
      ctx.putImageData(new ImageData(pixels, canvas.width, canvas.height), 0, 0);
      canvas.dataset.painted = 'blurhash';
    } catch {
      // a malformed hash keeps the dominant colour
    }
  });
}
