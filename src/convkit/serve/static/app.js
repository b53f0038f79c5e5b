// The convkit web page: choose or drop an image, then ask the JSON API for
// the prediction, Grad-CAM and feature maps (and similar photos when the
// server has an index). Plain browser JavaScript, no external libraries.
"use strict";

const $ = (id) => document.getElementById(id);
let health = null;

function setStatus(message, isError = false) {
  $("status").textContent = message;
  $("status").classList.toggle("error", isError);
}

async function postFile(path, file, fields = {}) {
  const form = new FormData();
  form.append("file", file);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const response = await fetch(path, { method: "POST", body: form });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw new Error(body.detail ? String(body.detail) : `${path} answered ${response.status}`);
  }
  return body;
}

function pngSource(base64) {
  return "data:image/png;base64," + base64;
}

function showLabels(top) {
  const list = $("labels");
  list.replaceChildren();
  for (const entry of top) {
    const item = document.createElement("li");
    item.className = "label-row";
    const name = document.createElement("span");
    name.className = "label";
    name.textContent = entry.label;
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = `${(entry.probability * 100).toFixed(1)}%`;
    track.append(fill);
    const score = document.createElement("span");
    score.className = "score";
    score.textContent = `${(entry.probability * 100).toFixed(1)}%`;
    item.append(name, track, score);
    list.append(item);
  }
}

function showBoxes(result) {
  // Boxes come in the network input's pixel coordinates; draw them on the preview.
  const canvas = $("boxes-canvas");
  const image = $("preview");
  canvas.width = image.naturalWidth;
  canvas.height = image.naturalHeight;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  context.lineWidth = 2;
  context.font = "14px sans-serif";
  for (const box of result.boxes || []) {
    const [x1, y1, x2, y2] = box.box || [box.x1, box.y1, box.x2, box.y2];
    context.strokeStyle = "#e53e3e";
    context.strokeRect(x1, y1, x2 - x1, y2 - y1);
    context.fillStyle = "#e53e3e";
    const score = box.score ?? box.confidence;
    context.fillText(`${box.label}${score !== undefined ? " " + score.toFixed(2) : ""}`, x1 + 2, y1 + 14);
  }
  $("boxes-result").hidden = false;
}

function showPrediction(result) {
  $("labels").hidden = result.kind !== "classify";
  $("text-result").hidden = result.kind !== "ocr";
  $("boxes-result").hidden = true;
  if (result.kind === "classify") showLabels(result.top);
  if (result.kind === "ocr") $("text-result").textContent = result.text ?? "";
  if (result.kind === "detect") showBoxes(result);
  $("prediction").hidden = false;
}

function showGradcam(result) {
  $("gradcam-image").src = pngSource(result.png);
  $("gradcam-caption").textContent = `${result.layer}, for “${result.label}”`;
  $("gradcam").hidden = false;
}

function showFeatureMaps(result) {
  const list = $("featuremap-list");
  list.replaceChildren();
  for (const layer of result.layers) {
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = layer.title;
    const image = document.createElement("img");
    image.alt = `activation maps of ${layer.title}`;
    image.src = pngSource(layer.png);
    figure.append(caption, image);
    list.append(figure);
  }
  $("featuremaps").hidden = false;
}

function showSimilar(result) {
  const list = $("similar-list");
  list.replaceChildren();
  for (const hit of result.results) {
    const figure = document.createElement("figure");
    const image = document.createElement("img");
    image.src = hit.image_url;
    image.alt = hit.name || "";
    const caption = document.createElement("figcaption");
    caption.textContent = `${hit.name ?? ""} ${hit.score.toFixed(3)}`;
    figure.append(image, caption);
    list.append(figure);
  }
  $("similar").hidden = false;
}

async function analyse(file) {
  for (const id of ["prediction", "gradcam", "featuremaps", "similar"]) $(id).hidden = true;
  // Recordings (audio models) have no picture to preview.
  const isImage = file.type.startsWith("image/");
  $("preview").hidden = !isImage;
  if (isImage) {
    $("preview").src = URL.createObjectURL(file);
    // Boxes are drawn over the preview, so its pixels must be there first.
    await $("preview").decode().catch(() => {});
  }
  setStatus(`Looking at ${file.name}…`);
  try {
    // The prediction first: a bad upload fails here with the server's message.
    showPrediction(await postFile("/predict", file, { k: "5" }));
    const jobs = [postFile("/featuremaps", file).then(showFeatureMaps)];
    if (health && health.kind === "classify") jobs.push(postFile("/gradcam", file).then(showGradcam));
    if (health && health.similar) jobs.push(postFile("/similar", file, { k: "8" }).then(showSimilar));
    await Promise.all(jobs);
    setStatus(`Done: ${file.name}`);
  } catch (error) {
    setStatus(error.message, true);
  }
}

function setUpDropZone() {
  const zone = $("drop-zone");
  $("file-input").addEventListener("change", (event) => {
    if (event.target.files.length) analyse(event.target.files[0]);
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("dragging");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("dragging");
    if (event.dataTransfer.files.length) analyse(event.dataTransfer.files[0]);
  });
}

async function loadHealth() {
  try {
    const response = await fetch("/health");
    health = await response.json();
    $("model-info").textContent =
      `${health.model}: ${health.kind}, input ${health.input}` +
      (health.labels.length ? `, ${health.labels.length} labels` : "") +
      (health.similar ? ", with a photo index" : "");
  } catch (error) {
    $("model-info").textContent = "the server does not answer /health";
  }
}

setUpDropZone();
loadHealth();
