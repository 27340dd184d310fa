// 美颜 (beauty filter) on the local camera, before it is sent: skin (by its chroma) is
// smoothed with an edge-keeping bilateral filter, everything else is left as it is. The
// arithmetic follows the SDK's kernel (zhanye_sdk_native/src/beauty.rs): 7×7 taps at
// offsets -5, -3, -1, 0, 1, 3, 5 with spatial weights 1, 2, 3, 4, 3, 2, 1 and a range weight
// max(0, 46 - |ΔY|) (the kernel's 40 on video-range luma is 46 on the canvas's full range), blended by strength × skin mask. WebGL when the browser has it, a
// 2D canvas otherwise. The choice (on, strength) is remembered in localStorage.
import { t } from "./i18n.js";

const STORAGE_KEY = "zhanye.beauty";
const DEFAULT = { on: false, strength: 60 };
const OFFSETS = [-5, -3, -1, 0, 1, 3, 5];
const SPATIAL = [1, 2, 3, 4, 3, 2, 1];
const RANGE = 46;

export function loadChoice() {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
    if (saved && typeof saved.on === "boolean" && Number.isFinite(saved.strength)) {
      return { on: saved.on, strength: Math.min(100, Math.max(0, Math.round(saved.strength))) };
    }
  } catch {
    // A damaged entry is replaced by the default on the next save.
  }
  return { ...DEFAULT };
}

function saveChoice(choice) {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(choice));
  } catch {
    // Private mode: the choice lasts for this page only.
  }
}

const VERTEX = `#version 300 es
in vec2 p;
out vec2 uv;
void main() { uv = vec2(p.x * 0.5 + 0.5, 0.5 - p.y * 0.5); gl_Position = vec4(p, 0.0, 1.0); }`;

const FRAGMENT = `#version 300 es
precision highp float;
uniform sampler2D frame;
uniform vec2 texel;
uniform float strength;
in vec2 uv;
out vec4 colour;
float luma(vec3 c) { return dot(c, vec3(0.299, 0.587, 0.114)) * 255.0; }
float skin(vec3 c) {
  vec3 k = c * 255.0;
  float cb = 128.0 - 0.168736 * k.r - 0.331264 * k.g + 0.5 * k.b;
  float cr = 128.0 + 0.5 * k.r - 0.418688 * k.g - 0.081312 * k.b;
  return step(77.0, cb) * step(cb, 127.0) * step(133.0, cr) * step(cr, 173.0);
}
void main() {
  vec3 c = texture(frame, uv).rgb;
  float m = 0.0;
  for (int i = -1; i <= 1; i++) for (int j = -1; j <= 1; j++)
    m += skin(texture(frame, uv + vec2(float(j), float(i)) * 2.0 * texel).rgb);
  m /= 9.0;
  if (m * strength <= 0.0) { colour = vec4(c, 1.0); return; }
  float offsets[7] = float[7](-5.0, -3.0, -1.0, 0.0, 1.0, 3.0, 5.0);
  float spatial[7] = float[7](1.0, 2.0, 3.0, 4.0, 3.0, 2.0, 1.0);
  float yc = luma(c);
  vec3 sum = vec3(0.0);
  float total = 0.0;
  for (int i = 0; i < 7; i++) for (int j = 0; j < 7; j++) {
    vec3 p = texture(frame, uv + vec2(offsets[j], offsets[i]) * texel).rgb;
    float w = spatial[i] * spatial[j] * max(0.0, ${RANGE}.0 - abs(luma(p) - yc));
    sum += w * p;
    total += w;
  }
  colour = vec4(mix(c, sum / total, m * strength), 1.0);
}`;

function webglRenderer(canvas) {
  const gl = canvas.getContext("webgl2", { preserveDrawingBuffer: true, premultipliedAlpha: false });
  if (!gl) return null;
  const shader = (type, source) => {
    const s = gl.createShader(type);
    gl.shaderSource(s, source);
    gl.compileShader(s);
    return gl.getShaderParameter(s, gl.COMPILE_STATUS) ? s : null;
  };
  const vs = shader(gl.VERTEX_SHADER, VERTEX);
  const fs = shader(gl.FRAGMENT_SHADER, FRAGMENT);
  if (!vs || !fs) return null;
  const program = gl.createProgram();
  gl.attachShader(program, vs);
  gl.attachShader(program, fs);
  gl.linkProgram(program);
  if (!gl.getProgramParameter(program, gl.LINK_STATUS)) return null;
  gl.useProgram(program);
  const buffer = gl.createBuffer();
  gl.bindBuffer(gl.ARRAY_BUFFER, buffer);
  gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
  const where = gl.getAttribLocation(program, "p");
  gl.enableVertexAttribArray(where);
  gl.vertexAttribPointer(where, 2, gl.FLOAT, false, 0, 0);
  const texture = gl.createTexture();
  gl.bindTexture(gl.TEXTURE_2D, texture);
  for (const [k, v] of [
    [gl.TEXTURE_MIN_FILTER, gl.NEAREST],
    [gl.TEXTURE_MAG_FILTER, gl.NEAREST],
    [gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE],
    [gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE],
  ]) gl.texParameteri(gl.TEXTURE_2D, k, v);
  const texel = gl.getUniformLocation(program, "texel");
  const strength = gl.getUniformLocation(program, "strength");
  return {
    engine: "webgl",
    draw(source, width, height, level) {
      gl.viewport(0, 0, width, height);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source);
      gl.uniform2f(texel, 1 / width, 1 / height);
      gl.uniform1f(strength, level);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
  };
}

function isSkin(r, g, b) {
  const cb = 128 - 0.168736 * r - 0.331264 * g + 0.5 * b;
  const cr = 128 + 0.5 * r - 0.418688 * g - 0.081312 * b;
  return cb >= 77 && cb <= 127 && cr >= 133 && cr <= 173;
}

// The same filter on the CPU, for browsers without WebGL 2.
function canvasRenderer(canvas) {
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) return null;
  return {
    engine: "canvas",
    draw(source, width, height, level) {
      ctx.drawImage(source, 0, 0, width, height);
      if (level <= 0) return;
      const image = ctx.getImageData(0, 0, width, height);
      const px = image.data;
      const n = width * height;
      const y = new Float32Array(n);
      const skin = new Uint8Array(n);
      for (let i = 0, k = 0; i < n; i += 1, k += 4) {
        y[i] = 0.299 * px[k] + 0.587 * px[k + 1] + 0.114 * px[k + 2];
        skin[i] = isSkin(px[k], px[k + 1], px[k + 2]) ? 1 : 0;
      }
      const src = new Uint8ClampedArray(px);
      for (let row = 0; row < height; row += 1) {
        for (let col = 0; col < width; col += 1) {
          let m = 0;
          for (let i = -2; i <= 2; i += 2) {
            const r = Math.min(height - 1, Math.max(0, row + i));
            for (let j = -2; j <= 2; j += 2) m += skin[r * width + Math.min(width - 1, Math.max(0, col + j))];
          }
          const a = (m / 9) * level;
          if (a <= 0) continue;
          const centre = row * width + col;
          const yc = y[centre];
          let sr = 0;
          let sg = 0;
          let sb = 0;
          let total = 0;
          for (let i = 0; i < 7; i += 1) {
            const r = Math.min(height - 1, Math.max(0, row + OFFSETS[i]));
            for (let j = 0; j < 7; j += 1) {
              const q = r * width + Math.min(width - 1, Math.max(0, col + OFFSETS[j]));
              const w = SPATIAL[i] * SPATIAL[j] * Math.max(0, RANGE - Math.abs(y[q] - yc));
              sr += w * src[4 * q];
              sg += w * src[4 * q + 1];
              sb += w * src[4 * q + 2];
              total += w;
            }
          }
          const k = 4 * centre;
          px[k] = src[k] + (sr / total - src[k]) * a;
          px[k + 1] = src[k + 1] + (sg / total - src[k + 1]) * a;
          px[k + 2] = src[k + 2] + (sb / total - src[k + 2]) * a;
        }
      }
      ctx.putImageData(image, 0, 0);
    },
  };
}

function renderer(canvas) {
  return webglRenderer(canvas) || canvasRenderer(canvas);
}

// A filtered copy of a camera track. Chromium's insertable streams carry every frame
// with its timestamp; elsewhere a playing <video> is drawn into a canvas and captured.
export class BeautyFilter {
  constructor(camera, level = () => 0.6) {
    this.camera = camera;
    this.level = level;
    this.stopped = false;
    const settings = camera.getSettings();
    this.width = settings.width || 640;
    this.height = settings.height || 480;
    if (typeof MediaStreamTrackProcessor === "function" && typeof MediaStreamTrackGenerator === "function") {
      this.track = this.insertable();
    } else {
      this.track = this.captured();
    }
  }

  canvas(width, height) {
    const canvas = typeof OffscreenCanvas === "function" ? new OffscreenCanvas(width, height) : document.createElement("canvas");
    canvas.width = width;
    canvas.height = height;
    return canvas;
  }

  insertable() {
    const reader = new MediaStreamTrackProcessor({ track: this.camera }).readable.getReader();
    const generator = new MediaStreamTrackGenerator({ kind: "video" });
    const writer = generator.writable.getWriter();
    let canvas = null;
    let draw = null;
    (async () => {
      while (!this.stopped) {
        const { value: frame, done } = await reader.read();
        if (done) break;
        try {
          const { displayWidth: width, displayHeight: height } = frame;
          if (!canvas || canvas.width !== width || canvas.height !== height) {
            canvas = this.canvas(width, height);
            draw = renderer(canvas);
            this.engine = draw?.engine;
          }
          if (!draw) {
            await writer.write(frame);
            continue;
          }
          draw.draw(frame, width, height, this.level());
          const out = new VideoFrame(canvas, { timestamp: frame.timestamp, duration: frame.duration ?? undefined });
          frame.close();
          await writer.write(out);
        } catch {
          frame.close();
        }
      }
      reader.cancel().catch(() => {});
      writer.close().catch(() => {});
    })();
    return generator;
  }

  captured() {
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.srcObject = new MediaStream([this.camera]);
    video.play().catch(() => {});
    const canvas = document.createElement("canvas");
    canvas.width = this.width;
    canvas.height = this.height;
    const draw = renderer(canvas);
    this.engine = draw?.engine;
    const tick = () => {
      if (this.stopped) return;
      if (video.readyState >= 2 && draw) draw.draw(video, canvas.width, canvas.height, this.level());
      if (video.requestVideoFrameCallback) video.requestVideoFrameCallback(tick);
      else setTimeout(tick, 1000 / 24);
    };
    tick();
    return canvas.captureStream(24).getVideoTracks()[0];
  }

  stop() {
    this.stopped = true;
    this.track.stop();
  }
}

// The 美颜 toggle and its strength slider, in `container`; `media` is the page's
// MediaSession, which sends the filtered camera while the toggle is on.
export function mountBeauty(container, media) {
  const choice = loadChoice();
  container.classList.add("beauty-control");
  const toggle = document.createElement("button");
  toggle.type = "button";
  toggle.className = "toggle";
  toggle.id = "beauty";
  toggle.textContent = t("beauty.toggle");
  const label = document.createElement("label");
  label.className = "beauty-strength";
  const caption = document.createElement("span");
  caption.textContent = t("beauty.strength");
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = "100";
  slider.step = "5";
  slider.id = "beauty-strength";
  label.append(caption, slider);
  container.replaceChildren(toggle, label);
  const apply = () => {
    toggle.setAttribute("aria-pressed", String(choice.on));
    slider.value = String(choice.strength);
    slider.disabled = !choice.on;
    saveChoice(choice);
    media.setCameraFilter(choice.on ? (camera) => new BeautyFilter(camera, () => choice.strength / 100) : null);
  };
  toggle.addEventListener("click", () => {
    choice.on = !choice.on;
    apply();
  });
  slider.addEventListener("input", () => {
    choice.strength = Number(slider.value);
    saveChoice(choice);
  });
  apply();
  return { choice, toggle, slider };
}
