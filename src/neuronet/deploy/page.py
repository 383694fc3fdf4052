"""The page at `/`: try the model in a browser. One self-contained HTML file (no CDN, works offline).

It reads /metadata and builds the form for this run: a field per table column, a text box, an
image upload with a drawing canvas, a WAV upload (and, to transcribe, a recording from the
browser's microphone: MediaRecorder, decoded and sent as a 16-bit WAV file). How it shows a response is the task's widget
(`Task.widget`): the field shown as the prediction and, for classes, the field of probabilities
drawn as bars; for a detector the boxes drawn over the image sent, for a segmenter its mask painted over it.
"""

from __future__ import annotations

import html
import json
import re
from typing import Any

__all__ = ["page_html", "script_json"]

_PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<link rel="icon" href="data:,">
<style>
  body { font-family: system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.4rem; margin-bottom: .2rem; } .sub { color: #666; margin-top: 0; }
  label { display: block; margin: .5rem 0 .15rem; font-weight: 600; font-size: .9rem; }
  input[type=text], input[type=number], textarea { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(13rem, 1fr)); gap: 0 1rem; }
  button { margin-top: 1rem; padding: .5rem 1.2rem; font: inherit; cursor: pointer; }
  #result { margin-top: 1.5rem; } #prediction { font-size: 1.3rem; font-weight: 700; }
  .bar { display: flex; align-items: center; gap: .5rem; margin: .2rem 0; font-size: .9rem; }
  .bar span:first-child { width: 9rem; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .bar .fill { height: .9rem; background: #3b7dd8; border-radius: 2px; }
  #error { color: #b00020; margin-top: 1rem; } canvas { border: 1px solid #999; touch-action: none; background: #000; }
</style>
</head>
<body>
<h1>__TITLE__</h1>
<p class="sub" id="about"></p>
<form id="form"></form>
<div id="error" role="alert"></div>
<div id="result" hidden><div>Prediction: <span id="prediction"></span></div><div id="bars"></div>
<canvas id="picture" hidden style="background:#fff; max-width:100%"></canvas></div>
<script>
const info = __INFO__;
const widget = __WIDGET__;  // the task's: which response field is the prediction, which are bars
const form = document.getElementById("form");
const kind = info.input.kind;
document.getElementById("about").textContent =
  `A ${info.task} model (${info.model}) trained on ${info.data}` +
  (info.metrics && Object.keys(info.metrics).length ? "; test " + Object.entries(info.metrics).slice(0, 3)
    .map(([k, v]) => `${k} ${Number(v).toFixed(3)}`).join(", ") : "") + ".";

function field(name, type, help) {
  const label = document.createElement("label");
  label.textContent = name;
  label.title = help || "";
  const input = document.createElement(type === "textarea" ? "textarea" : "input");
  if (type !== "textarea") input.type = type;
  input.name = name;
  input.id = "field-" + name.replace(/\\W/g, "_");
  form.append(label, input);
  return input;
}

let canvas = null, drawn = false;
if (kind === "frame" || kind === "table") {
  const grid = document.createElement("div"); grid.className = "grid"; form.append(grid);
  for (const [key, prop] of Object.entries(info.input.schema.properties)) {
    const name = key;
    const label = document.createElement("label"); label.textContent = name; label.title = prop.description || "";
    const input = document.createElement("input"); input.type = "text"; input.name = name;
    input.id = "field-" + name.replace(/\\W/g, "_");
    const box = document.createElement("div"); box.append(label, input); grid.append(box);
  }
} else if (kind === "text") {
  field("text", "textarea", "The text to classify").rows = 5;
} else if (kind === "image" && (widget.rectangles || widget.overlay)) {  // a photo to find objects in, or to segment
  field("image", "file", "An image file").accept = "image/*";
} else if (kind === "image") {
  field("image", "file", "An image file").accept = "image/*";
  const label = document.createElement("label"); label.textContent = "or draw (white on black)";
  canvas = document.createElement("canvas"); canvas.width = canvas.height = 160; canvas.id = "canvas";
  const clear = document.createElement("button"); clear.type = "button"; clear.textContent = "Clear";
  form.append(label, canvas, document.createElement("br"), clear);
  const pen = canvas.getContext("2d"); pen.fillStyle = "#000"; pen.fillRect(0, 0, 160, 160);
  pen.strokeStyle = "#fff"; pen.lineWidth = 14; pen.lineCap = "round";
  let down = false;
  const at = e => { const r = canvas.getBoundingClientRect(); return [e.clientX - r.left, e.clientY - r.top]; };
  canvas.addEventListener("pointerdown", e => { down = true; drawn = true; pen.beginPath(); pen.moveTo(...at(e)); });
  canvas.addEventListener("pointermove", e => { if (down) { pen.lineTo(...at(e)); pen.stroke(); } });
  window.addEventListener("pointerup", () => { down = false; });
  clear.addEventListener("click", () => { pen.fillRect(0, 0, 160, 160); drawn = false; });
} else if (kind === "corpus") {  // a language model: a prompt, and the text streams in as it is written
  field("prompt", "textarea", "The text to continue (empty: a new document)").rows = 4;
  const heat = field("temperature", "number", "0: always the most likely token; higher: more varied");
  heat.value = "0.8"; heat.step = "0.1"; heat.min = "0";
  const limit = field("max_tokens", "number", "Tokens to write at most"); limit.value = "200"; limit.min = "1";
} else if (kind === "audio") {
  field("file", "file", "A WAV file").accept = ".wav,audio/wav";
} else if (kind === "speech") {  // a WAV file, or a recording from the microphone sent as WAV
  field("file", "file", "A WAV recording").accept = ".wav,audio/wav";
  const label = document.createElement("label"); label.textContent = "or record from the microphone";
  const rec = document.createElement("button"); rec.type = "button"; rec.id = "record"; rec.textContent = "Record";
  const status = document.createElement("span"); status.id = "recorded"; status.style.marginLeft = ".6rem";
  const player = document.createElement("audio"); player.controls = true; player.hidden = true; player.id = "playback";
  form.append(label, rec, status, document.createElement("br"), player);
  let recorder = null;
  rec.addEventListener("click", async () => {
    const error = document.getElementById("error"); error.textContent = "";
    if (recorder && recorder.state === "recording") { recorder.stop(); return; }
    let stream;
    try { stream = await navigator.mediaDevices.getUserMedia({audio: true}); }
    catch (e) { error.textContent = "The microphone is not available (" + e.message + "); upload a WAV file instead."; return; }
    const chunks = [];
    recorder = new MediaRecorder(stream);
    recorder.ondataavailable = e => { if (e.data.size) chunks.push(e.data); };
    recorder.onstop = async () => {
      stream.getTracks().forEach(track => track.stop());
      rec.textContent = "Record";
      try {
        recording = await toWav(new Blob(chunks, {type: recorder.mimeType}));
        player.src = URL.createObjectURL(recording); player.hidden = false;
        status.textContent = `${recordedSeconds.toFixed(1)} s recorded`;
      } catch (e) { error.textContent = "The recording could not be read (" + e.message + "); record again."; }
    };
    recorder.start(); rec.textContent = "Stop"; status.textContent = "recording…"; recording = null;
  });
} else if (kind === "series") {
  field("series", "textarea", "Numbers, oldest first, separated by commas or spaces").rows = 4;
} else {
  field("values", "textarea", "A JSON array of the input's shape").rows = 4;
}
const submit = document.createElement("button"); submit.type = "submit";
submit.textContent = kind === "corpus" ? "Generate" : "Predict";
submit.id = "predict"; form.append(submit);

let recording = null, recordedSeconds = 0;

async function toWav(blob) {  // what MediaRecorder made (WebM / Ogg) → 16-bit mono PCM WAV; the server resamples it
  const context = new AudioContext();
  const audio = await context.decodeAudioData(await blob.arrayBuffer());
  context.close();
  const n = audio.length, rate = audio.sampleRate, mono = new Float32Array(n);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const samples = audio.getChannelData(c);
    for (let i = 0; i < n; i++) mono[i] += samples[i] / audio.numberOfChannels;
  }
  const bytes = new ArrayBuffer(44 + 2 * n), view = new DataView(bytes);
  const ascii = (at, text) => [...text].forEach((ch, i) => view.setUint8(at + i, ch.charCodeAt(0)));
  ascii(0, "RIFF"); view.setUint32(4, 36 + 2 * n, true); ascii(8, "WAVE"); ascii(12, "fmt ");
  view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true); view.setUint32(24, rate, true);
  view.setUint32(28, 2 * rate, true); view.setUint16(32, 2, true); view.setUint16(34, 16, true);
  ascii(36, "data"); view.setUint32(40, 2 * n, true);
  for (let i = 0; i < n; i++) view.setInt16(44 + 2 * i, Math.round(Math.max(-1, Math.min(1, mono[i])) * 32767), true);
  recordedSeconds = n / rate;
  return new Blob([bytes], {type: "audio/wav"});
}

const asBase64 = file => new Promise((ok, fail) => {
  const reader = new FileReader(); reader.onload = () => ok(reader.result); reader.onerror = fail;
  reader.readAsDataURL(file);
});

async function request() {
  if (kind === "frame" || kind === "table") {
    const row = {};
    for (const input of form.querySelectorAll(".grid input")) {
      const text = input.value.trim();
      row[input.name] = text === "" ? null : (isNaN(Number(text)) ? text : Number(text));  // the server says what is wrong
    }
    return ["/predict", row];
  }
  if (kind === "text") return ["/predict", {text: form.elements.text.value}];
  if (kind === "image") {
    const file = form.elements.image.files[0];
    if (!file && !drawn) throw new Error("Choose an image file or draw one.");
    const image = file ? await asBase64(file) : canvas.toDataURL("image/png");
    sent = image.startsWith("data:") ? image : "data:image/png;base64," + image;
    return ["/predict", {image}];
  }
  if (kind === "audio" || kind === "speech") {
    const file = form.elements.file.files[0] || (kind === "speech" ? recording : null);
    if (!file) throw new Error(kind === "speech" ? "Choose a WAV file or record one." : "Choose a WAV file.");
    const body = new FormData(); body.append("file", file, file.name || "recording.wav");
    return ["/predict/file", body];
  }
  if (kind === "series") {
    return ["/predict", {series: form.elements.series.value.split(/[\\s,;]+/).filter(Boolean).map(Number)}];
  }
  return ["/predict", {values: JSON.parse(form.elements.values.value)}];
}

const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
                 "#17becf"];
let sent = null;  // the image last sent (a data: URL), to draw rectangles or an overlay on

async function picture() {  // the image sent, on the result canvas: at least 320 px wide, at most 640
  const image = new Image(); image.src = sent;
  await image.decode();
  const scale = Math.min(640 / image.naturalWidth, Math.max(1, 320 / image.naturalWidth));
  const board = document.getElementById("picture");
  board.width = Math.round(image.naturalWidth * scale); board.height = Math.round(image.naturalHeight * scale);
  const pen = board.getContext("2d"); pen.imageSmoothingEnabled = scale < 1;  // small images stay sharp
  pen.drawImage(image, 0, 0, board.width, board.height);
  board.hidden = false;
  return [pen, scale];
}

async function drawBoxes(found) {  // each box in its class's colour, labelled with the class and score
  const [pen, scale] = await picture();
  const names = [...new Set(found.map(b => b.label))];
  pen.lineWidth = 2; pen.font = "12px system-ui, sans-serif";
  for (const b of found) {
    const [x0, y0, x1, y1] = b.box.map(v => v * scale);
    pen.strokeStyle = pen.fillStyle = PALETTE[names.indexOf(b.label) % PALETTE.length];
    pen.strokeRect(x0, y0, x1 - x0, y1 - y0);
    const label = `${b.label} ${b.score.toFixed(2)}`;
    const width = pen.measureText(label).width + 6, top = Math.max(0, y0 - 15);
    pen.fillRect(x0, top, width, 15); pen.fillStyle = "#fff"; pen.fillText(label, x0 + 3, top + 11);
  }
}

async function drawMask(png) {  // the classes painted half-transparent over the image (class 0 left clear)
  const [pen, scale] = await picture();
  const classes = new Image(); classes.src = "data:image/png;base64," + png;
  await classes.decode();
  const layer = document.createElement("canvas"); layer.width = pen.canvas.width; layer.height = pen.canvas.height;
  const ink = layer.getContext("2d"); ink.imageSmoothingEnabled = false;
  ink.drawImage(classes, 0, 0, layer.width, layer.height);
  const pixels = ink.getImageData(0, 0, layer.width, layer.height), shown = pen.getImageData(0, 0, layer.width, layer.height);
  for (let i = 0; i < pixels.data.length; i += 4) {  // the PNG's palette colours each class; black is the background
    if (pixels.data[i] + pixels.data[i + 1] + pixels.data[i + 2] === 0) continue;
    for (let c = 0; c < 3; c++) shown.data[i + c] = (shown.data[i + c] + pixels.data[i + c]) / 2;
  }
  pen.putImageData(shown, 0, 0);
}

function show(prediction) {
  document.getElementById("picture").hidden = true;
  if (widget.rectangles && sent) drawBoxes(prediction[widget.rectangles] || []);
  if (widget.overlay && sent) drawMask(prediction[widget.overlay]);
  const text = prediction[widget.value];
  document.getElementById("prediction").textContent =
    typeof text === "object" && text !== null ? JSON.stringify(text) : String(text);
  const bars = document.getElementById("bars"); bars.replaceChildren();
  for (const [name, p] of Object.entries((widget.bars && prediction[widget.bars]) || {}).sort((a, b) => b[1] - a[1])) {
    const row = document.createElement("div"); row.className = "bar";
    const label = document.createElement("span"); label.textContent = name;
    const fill = document.createElement("span"); fill.className = "fill"; fill.style.width = (p * 16) + "rem";
    const value = document.createElement("span"); value.textContent = (100 * p).toFixed(1) + "%";
    row.append(label, fill, value); bars.append(row);
  }
  document.getElementById("result").hidden = false;
}

async function stream() {  // POST /generate with stream: server-sent events, one piece of text each
  const out = document.getElementById("prediction");
  out.textContent = ""; out.style.whiteSpace = "pre-wrap"; document.getElementById("bars").replaceChildren();
  document.getElementById("result").hidden = false;
  const response = await fetch("/generate", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({prompt: form.elements.prompt.value, temperature: Number(form.elements.temperature.value),
                          max_tokens: Number(form.elements.max_tokens.value), stream: true})});
  if (!response.ok) { const answer = await response.json(); throw new Error(answer.detail || response.statusText); }
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const {value, done} = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\\n\\n")) >= 0) {
      const event = buffer.slice(0, end); buffer = buffer.slice(end + 2);
      const data = event.split("\\n").find(line => line.startsWith("data: "));
      if (data && !event.startsWith("event: done")) out.textContent += JSON.parse(data.slice(6)).text;
    }
  }
}

form.addEventListener("submit", async event => {
  event.preventDefault();
  const error = document.getElementById("error"); error.textContent = "";
  if (kind === "corpus") {
    submit.disabled = true;
    try { await stream(); } catch (e) { error.textContent = e.message; } finally { submit.disabled = false; }
    return;
  }
  try {
    const [url, body] = await request();
    const response = await fetch(url, body instanceof FormData ? {method: "POST", body} :
      {method: "POST", headers: {"Content-Type": "application/json"}, body: JSON.stringify(body)});
    const answer = await response.json();
    if (!response.ok) { error.textContent = answer.detail || response.statusText; return; }
    show(answer.predictions ? answer.predictions[0] : answer);
  } catch (e) { error.textContent = e.message; }
});
</script>
</body>
</html>
"""


# Inside <script>, the HTML parser looks for "</script" and "<!--" before JavaScript sees a thing: a class
# label such as "<!--<script>" would swallow the page's script. JSON can spell every character as \uXXXX,
# so these never appear as themselves (ensure_ascii already spells U+2028 and U+2029 so).
_SCRIPT_SAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_json(value: Any) -> str:
    """`value` as JSON that is safe as-is inside an HTML <script> element, whatever strings it holds.

    Example:
        >>> text = script_json({"label": "</script><!-- & more"})
        >>> "<" in text or ">" in text or "&" in text, json.loads(text)["label"]
        (False, '</script><!-- & more')
    """
    return json.dumps(value, default=str, ensure_ascii=True).translate(_SCRIPT_SAFE)


def page_html(info: dict[str, Any], widget: dict[str, str] | None = None) -> str:
    """The page for a run's /metadata `info`: its data goes in as script-safe JSON and out as text, never as HTML.

    Args:
        info: What /metadata says of the run.
        widget: How to show a response (`Task.widget`): `value`, the field shown as the prediction;
            `bars`, a {name: probability} field drawn as bars. Default: the field `prediction`.
    """
    parts = {"__TITLE__": html.escape(f"neuronet · {info['run']}"), "__INFO__": script_json(info),
             "__WIDGET__": script_json(dict(widget or {"value": "prediction"}))}
    return re.sub("__(TITLE|INFO|WIDGET)__", lambda m: parts[m.group(0)], _PAGE)  # one pass: no text is read twice
