// impasto studio: the page. Plain JS, no build step. Talks only to this server's /api.
// Labels from the server are user file names: always set as textContent, never as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const FINISHED = ["done", "failed", "cancelled"];
const SIZES = [128, 256, 384, 512, 768, 1024, 1536, 2048];
// Options that have their own control above "More options" (the rest are generated from /api/options).
const MAIN = ["size", "quality", "style_weight", "preserve_colors", "style_weights"];
const COLOR_LABELS = { none: "The painting's colours", luminance: "The photo's colours",
                       histogram: "The photo's palette" };

const state = {
  limits: {}, photo: null, paintings: [], // {key, file?|example?, label, weight}
  job: null, events: null, shown: null, loading: false, historyTimer: null,
};

function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  for (const child of children) node.append(child);
  return node;
}

function clock(seconds) {
  if (seconds == null || !isFinite(seconds)) return "";
  const s = Math.max(0, Math.round(seconds));
  return s >= 3600 ? `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, "0")}:${String(s % 60).padStart(2, "0")}`
                   : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
}

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    throw Object.assign(new Error(body.detail || `${response.status} ${response.statusText}`), { status: response.status });
  }
  return body;
}

// ---- the form -------------------------------------------------------------------------

function tile(src, title, credit, onClick) {
  const button = el("button", { type: "button", className: "tile", title: credit ? `${title} (${credit})` : title },
                    [el("img", { src, alt: "" }), el("span", { className: "caption", textContent: title })]);
  button.addEventListener("click", onClick);
  return button;
}

function selectPhoto(photo, node) {
  if (state.photo?.url && state.photo.file) URL.revokeObjectURL(state.photo.url);
  state.photo = photo;
  for (const t of $("photo-tiles").querySelectorAll(".tile")) t.classList.toggle("selected", t === node);
  $("clip-options").hidden = !photo.clip; // the clip's own options, only for a clip
}

function togglePainting(painting, node) {
  const at = state.paintings.findIndex((p) => p.key === painting.key);
  if (at >= 0) state.paintings.splice(at, 1);
  else if (state.paintings.length >= state.limits.max_styles) return showFormError(`At most ${state.limits.max_styles} paintings.`);
  else state.paintings.push(painting);
  node.classList.toggle("selected", at < 0);
  if (at >= 0 && painting.file) node.remove(); // an uploaded painting, deselected, is gone
  renderBlend();
}

function renderBlend() {
  const list = $("style-list");
  list.replaceChildren();
  list.hidden = state.paintings.length < 2;
  for (const p of state.paintings) {
    const range = el("input", { type: "range", min: "0", max: "100", value: String(p.weight), ariaLabel: `weight of ${p.label}` });
    range.addEventListener("input", () => { p.weight = Number(range.value); });
    list.append(el("li", {}, [el("span", { className: "name", textContent: p.label }), range]));
  }
}

function tooBig(file, mb = state.limits.max_upload_mb) {
  if (file.size > mb * 1e6) { showFormError(`${file.name} is larger than ${mb} MB.`); return true; }
  return false;
}

function buildForm(config) {
  state.limits = config.limits;
  const byName = Object.fromEntries(config.options.map((o) => [o.name, o]));
  for (const ex of config.examples) {
    if (ex.kind === "photo") {
      const node = tile(ex.url, ex.title, ex.credit, () => selectPhoto({ example: ex.name, label: ex.title }, node));
      $("photo-tiles").append(node);
    } else {
      const painting = { key: `example:${ex.name}`, example: ex.name, label: ex.title, weight: 50 };
      const node = tile(ex.url, ex.title, ex.credit, () => togglePainting(painting, node));
      node.dataset.example = ex.name;
      $("style-tiles").append(node);
    }
  }
  $("photo-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file || tooBig(file)) return;
    const url = URL.createObjectURL(file);
    const upload = e.target.closest(".tile");
    upload.style.backgroundImage = `url("${url}")`;
    upload.classList.add("has-image");
    upload.querySelector(".caption").textContent = file.name;
    selectPhoto({ file, url, label: file.name }, upload);
  });
  if (config.limits.video) {
    $("clip-tile").hidden = false;
    $("clip-limits").textContent = `Clips: up to ${config.limits.max_frames} frames and ${config.limits.max_video_mb} MB.`;
  }
  $("clip-file").addEventListener("change", (e) => {
    const file = e.target.files[0];
    if (!file || tooBig(file, state.limits.max_video_mb)) return;
    const tile = e.target.closest(".tile");
    tile.classList.add("has-clip");
    tile.querySelector(".caption").textContent = file.name;
    selectPhoto({ clip: file, label: file.name }, tile);
  });
  let uploads = 0;
  $("style-file").addEventListener("change", (e) => {
    for (const file of e.target.files) {
      if (tooBig(file)) continue;
      const painting = { key: `file:${uploads++}`, file, label: file.name, weight: 50 };
      const node = tile(URL.createObjectURL(file), file.name, "", () => togglePainting(painting, node));
      e.target.closest(".tile").after(node);
      togglePainting(painting, node);
    }
    e.target.value = "";
  });

  const size = $("opt-size");
  for (const s of SIZES.filter((s) => s <= byName.size.max)) size.append(el("option", { value: s, textContent: `${s} px` }));
  size.value = String(byName.size.default);
  size.title = byName.size.help;
  const colors = $("opt-colors");
  for (const c of byName.preserve_colors.choices) colors.append(el("option", { value: c, textContent: COLOR_LABELS[c] || c }));
  colors.value = byName.preserve_colors.default;
  colors.title = byName.preserve_colors.help;
  const quality = $("opt-quality");
  quality.title = byName.quality.help;
  for (const q of byName.quality.choices) {
    const input = el("input", { type: "radio", name: "quality", value: q, checked: q === byName.quality.default });
    quality.append(el("label", {}, [input, el("span", { textContent: q })]));
  }
  // Style strength: a log scale around the default, so "a bit more" and "a lot more" both fit.
  const strength = $("opt-strength"), base = byName.style_weight.default;
  const weightOf = () => base * 10 ** ((Number(strength.value) - 50) / 50);
  strength.title = byName.style_weight.help;
  strength.value = "50";
  const showStrength = () => { $("strength-value").textContent = `${weightOf().toPrecision(2)}`; };
  strength.addEventListener("input", showStrength);
  showStrength();
  state.styleWeight = () => Number(weightOf().toPrecision(3));

  for (const o of config.options.filter((o) => !MAIN.includes(o.name))) {
    let input;
    if (o.choices) {
      input = el("select", { name: o.name });
      for (const c of o.choices) input.append(el("option", { value: c, textContent: c }));
      input.value = o.default;
    } else {
      input = el("input", { name: o.name, type: "number", step: o.type === "integer" ? "1" : "any",
                            placeholder: o.default == null ? "preset" : String(o.default), inputMode: "decimal" });
    }
    const words = o.name.replace(/_/g, " ").replace(/^tv /, "TV ");
    $("more-options").append(el("label", { className: "field" }, [
      words[0].toUpperCase() + words.slice(1), input, el("small", { textContent: o.help })]));
  }
}

function showFormError(message) {
  $("form-error").textContent = message || "";
  $("form-error").hidden = !message;
}

async function submit(event) {
  event.preventDefault();
  showFormError("");
  if (!state.photo) return showFormError("Pick or upload a photo first.");
  if (!state.paintings.length) return showFormError("Pick or upload at least one painting.");
  const data = new FormData();
  if (state.photo.clip) data.append("clip", state.photo.clip, state.photo.clip.name);
  else if (state.photo.file) data.append("content", state.photo.file, state.photo.file.name);
  else data.append("content_example", state.photo.example);
  // Uploaded paintings first, then bundled ones: the order the server reads style_weights in.
  const ordered = [...state.paintings.filter((p) => p.file), ...state.paintings.filter((p) => !p.file)];
  for (const p of ordered) {
    if (p.file) data.append("style", p.file, p.file.name);
    else data.append("style_example", p.example);
  }
  if (ordered.length > 1) data.append("style_weights", ordered.map((p) => Math.max(p.weight, 1)).join(","));
  data.append("size", $("opt-size").value);
  data.append("preserve_colors", $("opt-colors").value);
  data.append("quality", document.querySelector("input[name=quality]:checked").value);
  data.append("style_weight", String(state.styleWeight()));
  const fields = [...$("more-options").querySelectorAll("input, select"),
                  ...(state.photo.clip ? $("clip-options").querySelectorAll("input") : [])];
  for (const input of fields) {
    if (input.value.trim() !== "") data.append(input.name, input.value.trim());
  }
  $("paint").disabled = true;
  try {
    const job = await api("/api/jobs", { method: "POST", body: data });
    follow(job.id);
    if (window.innerWidth < 800) $("canvas").scrollIntoView({ behavior: "smooth" });
    refreshHistory();
  } catch (err) {
    showFormError(err.message);
  } finally {
    $("paint").disabled = false;
  }
}

// ---- following a job --------------------------------------------------------------------

function follow(id) {
  if (state.events) state.events.close();
  state.job = null;
  state.shown = null;
  $("video").hidden = true;
  $("video").removeAttribute("src");
  $("download").hidden = $("cancel").hidden = true; // until the new job's state arrives
  $("status").textContent = "";
  history.replaceState(null, "", `#job=${id}`);
  api(`/api/jobs/${id}`).then(render).catch((err) => {
    if (state.job?.id !== id) return showJobError(err.message);
  });
  const events = new EventSource(`/api/jobs/${id}/events`);
  state.events = events;
  events.onmessage = (e) => {
    const job = JSON.parse(e.data);
    render(job);
    if (FINISHED.includes(job.status)) { events.close(); refreshHistory(); }
  };
  // The browser reconnects by itself after a dropped stream; it gives up only on an error answer.
  events.onerror = () => {
    if (events.readyState !== EventSource.CLOSED) return;
    setTimeout(async () => {
      if (state.events !== events) return;
      try { await api(`/api/jobs/${id}`); follow(id); }
      catch (err) {
        if (err.status === 404) showJobError(err.message); // gone for good (another data folder?)
        else setTimeout(() => state.events === events && follow(id), 3000); // the studio is restarting
      }
    }, 2000);
  };
}

function showJobError(message) {
  $("job-error").textContent = message || "";
  $("job-error").hidden = !message;
}

function render(job) {
  state.job = job;
  $("job-title").textContent = `${job.content} × ${job.styles.join(" + ")}`;
  const running = job.status === "running", clip = job.kind === "video";
  const fraction = job.total ? job.step / job.total : 0;
  $("bar").hidden = false;
  $("bar").className = `bar ${job.status}`;
  $("bar-fill").style.width = `${Math.round((job.status === "done" ? 1 : fraction) * 100)}%`;
  let text;
  if (job.status === "queued") text = job.position === 1 ? "Waiting: next in line" : `Waiting: position ${job.position} in line`;
  else if (running && !job.step) text = job.cancelling ? "Stopping…" : "Preparing…";
  else if (running && clip) text = `Frame ${job.step} / ${job.total} · ${(job.elapsed / job.step).toFixed(1)} s a frame · ` +
                         (job.eta != null ? `${clock(job.eta)} left` : "estimating time") + (job.cancelling ? " · stopping…" : "");
  else if (running) text = `Step ${job.step} / ${job.total} · loss ${job.loss.toPrecision(4)} · ` +
                         (job.eta != null ? `${clock(job.eta)} left` : "estimating time") + (job.cancelling ? " · stopping…" : "");
  else if (job.status === "done") text = `Done: ${job.step} ${clip ? "frames" : "steps"} in ${clock(job.elapsed)} on ${job.device}`;
  else if (job.status === "cancelled" && clip) text = job.image ? `Cancelled after ${job.step} frames: the frames so far are kept` : "Cancelled";
  else if (job.status === "cancelled") text = job.image ? `Cancelled after ${job.step} steps: the best picture so far is kept` : "Cancelled";
  else text = "Failed";
  $("status").textContent = text;
  showJobError(job.status === "failed" ? job.error : "");
  $("notices").replaceChildren(...job.notices.map((n) => el("li", { textContent: n })));
  $("cancel").hidden = !(job.status === "queued" || running);
  $("cancel").disabled = job.cancelling;
  const downloadable = job.image === "result";
  $("download").hidden = !downloadable;
  $("download").textContent = job.video ? "Download MP4" : "Download PNG";
  if (downloadable) $("download").href = `/api/jobs/${job.id}/${job.video ? "video" : "image"}?download=true`;
  if (job.video) showVideo(job); else { $("video").hidden = true; updatePicture(job); }
  for (const card of $("history").children) card.classList.toggle("active", card.dataset.id === job.id);
}

// A painted clip plays in the page (the MP4, fetched in ranges by the browser).
function showVideo(job) {
  const video = $("video"), src = `/api/jobs/${job.id}/video`;
  if (!video.src.endsWith(src)) { video.src = src; video.play().catch(() => {}); }
  video.hidden = false;
  $("picture").hidden = $("placeholder").hidden = true;
  state.shown = `${job.id}:video`;
}

// Fetch a new picture only when the previous one has arrived: a slow link never queues up requests.
function updatePicture(job) {
  const version = `${job.id}:${job.image_version}`;
  if (!job.image) {
    if (!state.shown?.startsWith(job.id)) { $("picture").hidden = true; $("placeholder").hidden = false; }
    $("placeholder").textContent = job.status === "queued" ? "Waiting for the painter…" :
      job.status === "running" ? "Loading the network…" : "No picture.";
    return;
  }
  if (state.loading || state.shown === version) return;
  state.loading = true;
  const next = new Image();
  next.onload = () => {
    $("picture").src = next.src;
    $("picture").hidden = false;
    $("placeholder").hidden = true;
    state.shown = version;
    state.loading = false;
    if (state.job && state.job.id === job.id && `${job.id}:${state.job.image_version}` !== version) updatePicture(state.job);
  };
  next.onerror = () => { state.loading = false; };
  next.src = `/api/jobs/${job.id}/image?v=${encodeURIComponent(job.image_version)}`;
}

async function cancelJob() {
  if (!state.job) return;
  $("cancel").disabled = true;
  try { render(await api(`/api/jobs/${state.job.id}`, { method: "DELETE" })); }
  catch (err) { showJobError(err.message); }
}

// ---- past results -----------------------------------------------------------------------

function summary(job) {
  const o = job.options;
  const parts = [`${o.size} px`, o.quality, `strength ${o.style_weight}`];
  if (job.kind === "video") parts.unshift("clip");
  if (o.preserve_colors !== "none") parts.push(`${o.preserve_colors} colours`);
  if (o.steps) parts.push(`${o.steps} steps`);
  return parts.join(" · ");
}

function card(job) {
  const thumb = job.image === "result"
    ? el("img", { src: `/api/jobs/${job.id}/image?thumb=true`, alt: "", loading: "lazy" })
    : el("div", { className: "thumb-empty", textContent: job.status === "queued" ? "waiting" : job.status });
  const when = new Date(job.created * 1000).toLocaleString([], { dateStyle: "short", timeStyle: "short" });
  const node = el("li", { className: "card", tabIndex: 0 }, [
    thumb,
    el("div", { className: "meta" }, [
      el("strong", { textContent: `${job.content} × ${job.styles.join(" + ")}` }),
      el("span", { className: "settings", textContent: summary(job) }),
      el("span", { className: "when" }, [el("span", { className: `pill ${job.status}`, textContent: job.status }), ` ${when}`]),
    ]),
  ]);
  node.dataset.id = job.id;
  node.classList.toggle("active", state.job?.id === job.id);
  node.addEventListener("click", () => { follow(job.id); $("canvas").scrollIntoView({ behavior: "smooth" }); });
  node.addEventListener("keydown", (e) => { if (e.key === "Enter") node.click(); });
  return node;
}

async function refreshHistory() {
  clearTimeout(state.historyTimer);
  try {
    const { jobs } = await api("/api/jobs");
    $("history").replaceChildren(...jobs.map(card));
    $("history-empty").hidden = jobs.length > 0;
    // Jobs from other tabs move on by themselves: look again while any is unfinished.
    if (jobs.some((j) => !FINISHED.includes(j.status))) state.historyTimer = setTimeout(refreshHistory, 4000);
  } catch { state.historyTimer = setTimeout(refreshHistory, 10000); }
}

async function start() {
  $("setup").addEventListener("submit", submit);
  $("cancel").addEventListener("click", cancelJob);
  try {
    const [config, health] = await Promise.all([api("/api/options"), api("/api/health")]);
    buildForm(config);
    $("device").textContent = `painting on ${health.device === "cpu" ? "the CPU" : health.device.toUpperCase()}`;
    $("device").hidden = false;
  } catch (err) {
    showFormError(`The studio is not answering: ${err.message}`);
  }
  const match = location.hash.match(/job=([0-9a-f]{32})/);
  if (match) follow(match[1]);
  refreshHistory();
}

start();
