// treesne's view of an embedding: the page that src/view/html.cpp writes, with three.js (Debian's
// libjs-three, MIT licence) inlined before this script. Everything is drawn by three.js: the points are
// one THREE.Points per layer with a small shader that takes each point's colour and state (hidden, dimmed,
// normal, highlighted) from a per-class texture, so hiding or highlighting a class rewrites a few bytes of
// that texture and never the point buffers. Hover and selection use the points' screen positions,
// projected once per camera change into a uniform grid of 16-pixel cells.
//
// window.treesneView is the page's documented hook for tests and scripts: ready, error, pointCount,
// dims, frameCount, decodedMs and readyMs (the page's clock when the data were decoded and when the first
// frame was drawn), screenPosition(i), labelOf(i), hiddenClasses(), selected(),
// selectPolygon(points), setFrame(f), search(text).
(function () {
  "use strict";

  var HIDDEN = 0, DIMMED = 64, NORMAL = 128, HIGHLIGHTED = 255;
  var CELL = 16;  // pixels per cell of the hover grid

  var view = { ready: false, error: null, pointCount: 0, dims: 0, frameCount: 0, decodedMs: null, readyMs: null };
  window.treesneView = view;

  function $(id) { return document.getElementById(id); }

  function fail(message) {
    view.error = message;
    var box = $("message");
    box.textContent = message;
    box.hidden = false;
    console.error("treesne view: " + message);
  }

  // --- data: gzip + base64 blobs decoded by the browser's DecompressionStream ---------------------------

  // The browser decodes the base64 (a data: URL) and inflates the gzip stream natively.
  function blobBytes(name) {
    var el = $("treesne-" + name);
    if (!el) return Promise.resolve(null);
    var url = "data:application/octet-stream;base64," + el.textContent;
    el.textContent = "";  // the base64 text is no longer needed
    return fetch(url).then(function (response) {
      return new Response(response.body.pipeThrough(new DecompressionStream("gzip"))).arrayBuffer();
    });
  }

  function decode(meta) {
    var names = ["coords", "labels", "thumbs", "frames"];
    return Promise.all(names.map(blobBytes)).then(function (buffers) {
      var d = { meta: meta };
      d.coords = new Float32Array(buffers[0]);
      d.labels = buffers[1] ? (meta.labelBytes === 2 ? new Uint16Array(buffers[1]) : new Uint8Array(buffers[1]))
                            : new Uint8Array(meta.n);
      d.thumbs = buffers[2] ? new Uint8Array(buffers[2]) : null;
      d.frames = buffers[3] ? new Float32Array(buffers[3]) : null;
      if (d.coords.length !== meta.n * meta.dims) throw new Error("the coordinates do not match the point count");
      return d;
    });
  }

  // --- positions: 1-D gets a fixed jitter; frames are brought to the final frame's centre and scale ------

  function jitter(i) {
    var h = Math.imul(i ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
    return ((h ^ (h >>> 16)) >>> 0) / 4294967296 * 2 - 1;
  }

  function frameStats(src, offset, n, dims) {
    var c = [0, 0, 0], r = 0, i, k;
    for (i = 0; i < n; ++i) for (k = 0; k < dims; ++k) c[k] += src[offset + i * dims + k];
    for (k = 0; k < dims; ++k) c[k] /= n;
    for (i = 0; i < n; ++i) for (k = 0; k < dims; ++k) {
      var v = src[offset + i * dims + k] - c[k];
      r += v * v;
    }
    return { centre: c, radius: Math.sqrt(r / n) || 1 };
  }

  function fillPositions(state, out, src, offset, scaleTo) {
    var n = state.n, dims = state.dims, s = frameStats(src, offset, n, dims), t = scaleTo || s;
    var f = t.radius / s.radius, span = state.jitterSpan;
    for (var i = 0; i < n; ++i) {
      for (var k = 0; k < 3; ++k) {
        out[i * 3 + k] = k < dims ? (src[offset + i * dims + k] - s.centre[k]) * f + t.centre[k] : 0;
      }
      if (dims === 1) out[i * 3 + 1] = jitter(i) * span;
    }
  }

  // --- the palette texture: one RGBA texel per class, alpha = the class's state -------------------------

  function hexColour(text) {
    var v = parseInt(text.slice(1), 16);
    return [(v >> 16) & 255, (v >> 8) & 255, v & 255];
  }

  function makePalette(state) {
    var classes = Math.max(1, state.names.length), rows = Math.ceil(classes / 256);
    var data = new Uint8Array(256 * rows * 4);
    for (var c = 0; c < classes; ++c) {
      var rgb = hexColour(state.colours[c] || "#2e6fd8");
      data.set([rgb[0], rgb[1], rgb[2], NORMAL], c * 4);
    }
    var texture = new THREE.DataTexture(data, 256, rows, THREE.RGBAFormat);
    texture.magFilter = texture.minFilter = THREE.NearestFilter;
    texture.generateMipmaps = false;
    texture.flipY = false;
    texture.needsUpdate = true;
    state.palette = { data: data, texture: texture, rows: rows };
  }

  var VERTEX = [
    "attribute float label;",
    "uniform sampler2D palette; uniform float paletteRows; uniform float pointSize; uniform float pixelRatio;",
    "varying vec3 vColour; varying float vState;",
    "void main() {",
    "  vec2 uv = vec2((mod(label, 256.0) + 0.5) / 256.0, (floor(label / 256.0) + 0.5) / paletteRows);",
    "  vec4 c = texture2D(palette, uv);",
    "  vColour = c.rgb; vState = c.a;",
    "  gl_Position = projectionMatrix * modelViewMatrix * vec4(position, 1.0);",
    "  gl_PointSize = pointSize * pixelRatio * (c.a > 0.9 ? 1.5 : 1.0);",
    "  if (c.a < 0.1) gl_Position = vec4(2.0, 2.0, 2.0, 1.0);",  // hidden: outside the clip volume
    "}"].join("\n");
  var FRAGMENT = [
    "uniform float fade; varying vec3 vColour; varying float vState;",
    "void main() {",
    "  vec2 d = gl_PointCoord - vec2(0.5);",
    "  if (dot(d, d) > 0.25) discard;",
    "  float light = max(fade, vState < 0.4 ? 0.85 : 0.0);",
    "  gl_FragColor = vec4(mix(vColour, vec3(1.0), light), 1.0);",
    "}"].join("\n");
  var MARK_FRAGMENT = [
    "void main() {",
    "  vec2 d = gl_PointCoord - vec2(0.5); float r = dot(d, d);",
    "  if (r > 0.25 || r < 0.14) discard;",  // a thin ring just outside the point
    "  gl_FragColor = vec4(0.05, 0.05, 0.05, 1.0);",
    "}"].join("\n");

  function material(state, fade, fragment) {
    return new THREE.ShaderMaterial({
      uniforms: {
        palette: { value: state.palette.texture }, paletteRows: { value: state.palette.rows },
        pointSize: { value: state.pointSize }, pixelRatio: { value: window.devicePixelRatio || 1 },
        fade: { value: fade }
      },
      vertexShader: VERTEX, fragmentShader: fragment || FRAGMENT, depthTest: state.dims === 3
    });
  }

  // A pseudo-random drawing order (seeded), so that a file sorted by class does not let its last class
  // cover the others in 2-D; as an index buffer, the point buffers stay in file order.
  function drawOrder(first, count) {
    var order = new Uint32Array(count), seed = 42 >>> 0, i;
    for (i = 0; i < count; ++i) order[i] = first + i;
    for (i = count - 1; i > 0; --i) {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      var j = seed % (i + 1), t = order[i];
      order[i] = order[j];
      order[j] = t;
    }
    return order;
  }

  function makeLayers(state) {
    state.positionAttribute = new THREE.BufferAttribute(state.positions, 3);
    var labelAttribute = new THREE.BufferAttribute(state.labels, 1);
    var layers = [[0, state.faded, 0.75], [state.faded, state.n - state.faded, 0]];
    layers.forEach(function (layer) {
      if (layer[1] === 0) return;
      var g = new THREE.BufferGeometry();  // the layers share the attributes, and so their buffers
      g.setAttribute("position", state.positionAttribute);
      g.setAttribute("label", labelAttribute);
      g.setIndex(new THREE.BufferAttribute(drawOrder(layer[0], layer[1]), 1));
      var points = new THREE.Points(g, material(state, layer[2]));
      points.frustumCulled = false;
      points.renderOrder = layer[2] > 0 ? 0 : 1;
      state.scene.add(points);
      state.materials.push(points.material);
    });
    var markGeometry = new THREE.BufferGeometry();
    markGeometry.setAttribute("position", new THREE.BufferAttribute(new Float32Array(3), 3));
    markGeometry.setAttribute("label", new THREE.BufferAttribute(new Float32Array(1), 1));
    state.marks = new THREE.Points(markGeometry, material(state, 0, MARK_FRAGMENT));
    state.marks.material.uniforms.pointSize.value = markSize(state.pointSize);
    state.marks.material.depthTest = false;
    state.marks.frustumCulled = false;
    state.marks.renderOrder = 2;
    state.marks.visible = false;
    state.materials.push(state.marks.material);
    state.scene.add(state.marks);
  }

  function markSize(pointSize) { return pointSize + 5; }

  // Rings around the selected points and the point found by a search (at most 100,000 drawn).
  function updateMarks(state) {
    var list = state.searched >= 0 ? [state.searched] : [];
    list = list.concat(Array.prototype.slice.call(state.selection.subarray(0, 100000)));
    var pos = new Float32Array(Math.max(1, list.length) * 3), lab = new Float32Array(Math.max(1, list.length));
    list.forEach(function (i, k) {
      pos.set(state.positions.subarray(i * 3, i * 3 + 3), k * 3);
      lab[k] = state.labels[i];
    });
    var g = state.marks.geometry;
    g.setAttribute("position", new THREE.BufferAttribute(pos, 3));
    g.setAttribute("label", new THREE.BufferAttribute(lab, 1));
    state.marks.visible = list.length > 0;
    state.requestRender();
  }

  // --- cameras: 2-D pan and zoom at the cursor (mouse, wheel, touch); 3-D OrbitControls -----------------

  function bounds(state) {
    var lo = [Infinity, Infinity, Infinity], hi = [-Infinity, -Infinity, -Infinity], p = state.positions;
    for (var i = 0; i < state.n; ++i) for (var k = 0; k < 3; ++k) {
      lo[k] = Math.min(lo[k], p[i * 3 + k]);
      hi[k] = Math.max(hi[k], p[i * 3 + k]);
    }
    return { lo: lo, hi: hi };
  }

  function Camera2D(state, canvas) {
    var b = bounds(state), w = canvas.clientWidth, h = canvas.clientHeight;
    var self = this;
    this.camera = new THREE.OrthographicCamera(-1, 1, 1, -1, -10, 10);
    this.cx = (b.lo[0] + b.hi[0]) / 2;
    this.cy = (b.lo[1] + b.hi[1]) / 2;
    this.scale = Math.max((b.hi[0] - b.lo[0]) / w, (b.hi[1] - b.lo[1]) / h) * 1.08 || 1;
    this.update = function () {
      var cw = canvas.clientWidth / 2 * self.scale, ch = canvas.clientHeight / 2 * self.scale;
      var c = self.camera;
      c.left = self.cx - cw; c.right = self.cx + cw; c.top = self.cy + ch; c.bottom = self.cy - ch;
      c.updateProjectionMatrix();
      state.cameraMoved();
    };
    this.zoomAt = function (x, y, factor) {
      var wx = self.cx + (x - canvas.clientWidth / 2) * self.scale;
      var wy = self.cy - (y - canvas.clientHeight / 2) * self.scale;
      self.scale *= factor;
      self.cx = wx - (x - canvas.clientWidth / 2) * self.scale;
      self.cy = wy + (y - canvas.clientHeight / 2) * self.scale;
      self.update();
    };
    this.panBy = function (dx, dy) {
      self.cx -= dx * self.scale;
      self.cy += dy * self.scale;
      self.update();
    };
    this.centreOn = function (p) {
      self.cx = p[0];
      self.cy = p[1];
      self.update();
    };
    canvas.addEventListener("wheel", function (e) {
      e.preventDefault();
      self.zoomAt(e.offsetX, e.offsetY, Math.exp(e.deltaY * (e.deltaMode ? 0.05 : 0.0015)));
    }, { passive: false });
    this.update();
  }

  // Pointer gestures of 2-D: one pointer pans, two pinch (zoom about their midpoint and pan with it).
  function panGestures(cam, canvas, state) {
    var pointers = {};
    function pair() {
      var ids = Object.keys(pointers);
      if (ids.length !== 2) return null;
      var a = pointers[ids[0]], b = pointers[ids[1]];
      return { x: (a.x + b.x) / 2, y: (a.y + b.y) / 2, d: Math.hypot(a.x - b.x, a.y - b.y) || 1 };
    }
    canvas.addEventListener("pointerdown", function (e) {
      if (state.mode !== "pan" || e.button !== 0 && e.pointerType === "mouse") return;
      pointers[e.pointerId] = { x: e.offsetX, y: e.offsetY };
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      var p = pointers[e.pointerId];
      if (!p) return;
      var before = pair();
      var dx = e.offsetX - p.x, dy = e.offsetY - p.y;
      p.x = e.offsetX; p.y = e.offsetY;
      if (before) {
        var after = pair();
        cam.zoomAt(after.x, after.y, before.d / after.d);
        cam.panBy(after.x - before.x, after.y - before.y);
      } else if (dx || dy) {
        cam.panBy(dx, dy);
      }
    });
    function up(e) { delete pointers[e.pointerId]; }
    canvas.addEventListener("pointerup", up);
    canvas.addEventListener("pointercancel", up);
  }

  function Camera3D(state, canvas) {
    var b = bounds(state), self = this;
    var centre = new THREE.Vector3((b.lo[0] + b.hi[0]) / 2, (b.lo[1] + b.hi[1]) / 2, (b.lo[2] + b.hi[2]) / 2);
    var radius = Math.max(b.hi[0] - b.lo[0], b.hi[1] - b.lo[1], b.hi[2] - b.lo[2]) / 2 || 1;
    this.camera = new THREE.PerspectiveCamera(40, canvas.clientWidth / canvas.clientHeight, radius / 100, radius * 100);
    this.camera.position.set(centre.x, centre.y, centre.z + radius * 3.2);
    this.controls = new THREE.OrbitControls(this.camera, canvas);
    this.controls.target.copy(centre);
    this.controls.screenSpacePanning = true;
    this.controls.addEventListener("change", function () { state.cameraMoved(); });
    this.update = function () {
      self.camera.aspect = canvas.clientWidth / canvas.clientHeight;
      self.camera.updateProjectionMatrix();
      self.controls.update();
      state.cameraMoved();
    };
    this.centreOn = function (p) {
      var shift = new THREE.Vector3(p[0], p[1], p[2]).sub(self.controls.target);
      self.controls.target.add(shift);
      self.camera.position.add(shift);
      self.update();
    };
    this.update();
  }

  // --- screen positions and the hover grid --------------------------------------------------------------

  function classState(state, c) { return state.palette.data[c * 4 + 3]; }

  // The CSS-pixel position of every point on the canvas (NaN for hidden points and points behind a 3-D
  // camera), and a grid of CELL-pixel cells over them: cell c holds order[start[c] .. start[c + 1]).
  function project(state) {
    if (!state.projectionDirty) return;
    var n = state.n, w = state.canvas.clientWidth, h = state.canvas.clientHeight, p = state.positions;
    var screen = state.screen || (state.screen = new Float32Array(n * 2));
    var cam = state.cam.camera;
    cam.updateMatrixWorld();
    var m = new THREE.Matrix4().multiplyMatrices(cam.projectionMatrix, cam.matrixWorldInverse).elements;
    for (var i = 0; i < n; ++i) {
      var x = p[i * 3], y = p[i * 3 + 1], z = p[i * 3 + 2];
      var cw = m[3] * x + m[7] * y + m[11] * z + m[15];
      if (classState(state, state.labels[i]) === HIDDEN || cw <= 0) {
        screen[i * 2] = screen[i * 2 + 1] = NaN;
        continue;
      }
      screen[i * 2] = ((m[0] * x + m[4] * y + m[8] * z + m[12]) / cw + 1) / 2 * w;
      screen[i * 2 + 1] = (1 - (m[1] * x + m[5] * y + m[9] * z + m[13]) / cw) / 2 * h;
    }
    buildGrid(state, w, h);
    state.projectionDirty = false;
  }

  function buildGrid(state, w, h) {
    var gw = Math.ceil(w / CELL) + 1, gh = Math.ceil(h / CELL) + 1, screen = state.screen, n = state.n;
    var cellOf = new Int32Array(n), start = new Int32Array(gw * gh + 1), order = new Int32Array(n), i;
    for (i = 0; i < n; ++i) {
      var x = screen[i * 2], y = screen[i * 2 + 1];
      cellOf[i] = x >= 0 && y >= 0 && x < w && y < h ? Math.floor(y / CELL) * gw + Math.floor(x / CELL) : -1;
      if (cellOf[i] >= 0) ++start[cellOf[i] + 1];
    }
    for (i = 0; i < gw * gh; ++i) start[i + 1] += start[i];
    var fill = start.slice(0, gw * gh);
    for (i = 0; i < n; ++i) if (cellOf[i] >= 0) order[fill[cellOf[i]]++] = i;
    state.grid = { w: gw, h: gh, start: start, order: order };
  }

  // The visible point nearest to (x, y) within `radius` pixels, or -1.
  function nearest(state, x, y, radius) {
    project(state);
    var g = state.grid, best = -1, bestD = radius * radius, screen = state.screen;
    var cx = Math.floor(x / CELL), cy = Math.floor(y / CELL), reach = Math.ceil(radius / CELL);
    for (var gy = Math.max(0, cy - reach); gy <= Math.min(g.h - 1, cy + reach); ++gy) {
      for (var gx = Math.max(0, cx - reach); gx <= Math.min(g.w - 1, cx + reach); ++gx) {
        var c = gy * g.w + gx;
        for (var k = g.start[c]; k < g.start[c + 1]; ++k) {
          var i = g.order[k], dx = screen[i * 2] - x, dy = screen[i * 2 + 1] - y, d = dx * dx + dy * dy;
          if (d <= bestD) { bestD = d; best = i; }
        }
      }
    }
    return best;
  }

  // --- thumbnails, tooltip and the pinned panel ----------------------------------------------------------

  function drawThumbnail(state, canvas, i) {
    var side = state.meta.thumbSide;
    canvas.hidden = !(side > 0);
    if (!(side > 0)) return;
    canvas.width = canvas.height = side;
    var ctx = canvas.getContext("2d"), image = ctx.createImageData(side, side);
    for (var k = 0; k < side * side; ++k) {
      var v = state.thumbs[i * side * side + k];
      image.data.set([v, v, v, 255], k * 4);
    }
    ctx.putImageData(image, 0, 0);
  }

  function describe(state, i) {
    return "#" + i + (state.names.length ? " \u00b7 " + state.names[state.labels[i]] : "");
  }

  function showTooltip(state, i, x, y) {
    var tip = $("tooltip");
    if (i < 0) { tip.hidden = true; return; }
    $("tooltip-text").textContent = describe(state, i);
    drawThumbnail(state, $("tooltip-image"), i);
    tip.hidden = false;
    var r = state.canvas.getBoundingClientRect();
    tip.style.left = Math.min(r.left + x + 14, window.innerWidth - tip.offsetWidth - 4) + "px";
    tip.style.top = Math.min(r.top + y + 14, window.innerHeight - tip.offsetHeight - 4) + "px";
  }

  function pin(state, i) {
    var panel = $("pinned");
    if (i < 0) { panel.hidden = true; return; }
    $("pinned-text").textContent = describe(state, i);
    drawThumbnail(state, $("pinned-image"), i);
    panel.hidden = false;
  }

  // --- legend: click hides or shows a class, hovering an entry highlights it ----------------------------

  function setClassState(state, c, s) {
    state.palette.data[c * 4 + 3] = s;
    state.palette.texture.needsUpdate = true;
  }

  function refreshStates(state) {
    // A hidden class is not highlighted (hovering its legend entry after hiding it dims nothing).
    var lit = state.highlight >= 0 && !state.hidden[state.highlight] ? state.highlight : -1;
    for (var c = 0; c < Math.max(1, state.names.length); ++c) {
      var s = state.hidden[c] ? HIDDEN : lit < 0 ? NORMAL : lit === c ? HIGHLIGHTED : DIMMED;
      setClassState(state, c, s);
    }
    var entries = document.querySelectorAll("#legend li");
    for (var k = 0; k < entries.length; ++k) entries[k].classList.toggle("off", !!state.hidden[k]);
    state.projectionDirty = true;
    state.requestRender();
  }

  function buildLegend(state) {
    var list = $("legend"), counts = new Array(state.names.length).fill(0);
    for (var i = 0; i < state.n; ++i) ++counts[state.labels[i]];
    state.names.forEach(function (name, c) {
      var li = document.createElement("li"), swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = state.colours[c];
      li.appendChild(swatch);
      li.appendChild(document.createTextNode(name + " (" + counts[c].toLocaleString("en") + ")"));
      li.dataset.cls = c;
      li.title = "click: hide or show; hover: highlight";
      li.addEventListener("click", function () { state.hidden[c] = !state.hidden[c]; refreshStates(state); });
      li.addEventListener("mouseenter", function () { state.highlight = c; refreshStates(state); });
      li.addEventListener("mouseleave", function () { state.highlight = state.sticky; refreshStates(state); });
      list.appendChild(li);
    });
    $("legend-box").hidden = state.names.length === 0;
  }

  // --- selection: box and lasso over the visible points -------------------------------------------------

  function inside(polygon, x, y) {
    var hit = false;
    for (var a = 0, b = polygon.length - 1; a < polygon.length; b = a++) {
      var ya = polygon[a][1], yb = polygon[b][1];
      if ((ya > y) !== (yb > y) &&
          x < (polygon[b][0] - polygon[a][0]) * (y - ya) / (yb - ya) + polygon[a][0]) hit = !hit;
    }
    return hit;
  }

  // Selects the visible points inside the polygon of canvas CSS-pixel vertices; returns their indices.
  function selectPolygon(state, polygon) {
    project(state);
    var lo = [Infinity, Infinity], hi = [-Infinity, -Infinity], picked = [], screen = state.screen;
    polygon.forEach(function (p) {
      lo = [Math.min(lo[0], p[0]), Math.min(lo[1], p[1])];
      hi = [Math.max(hi[0], p[0]), Math.max(hi[1], p[1])];
    });
    for (var i = 0; i < state.n; ++i) {
      var x = screen[i * 2], y = screen[i * 2 + 1];
      if (x >= lo[0] && x <= hi[0] && y >= lo[1] && y <= hi[1] && inside(polygon, x, y)) picked.push(i);
    }
    setSelection(state, Int32Array.from(picked));
    return picked;
  }

  function setSelection(state, indices) {
    state.selection = indices;
    var n = indices.length, box = $("selection");
    box.hidden = n === 0;
    $("selection-count").textContent = n.toLocaleString("en") + (n === 1 ? " point selected" : " points selected");
    var shown = Array.prototype.slice.call(indices.subarray(0, 200)).join(", ");
    $("selection-list").textContent = shown + (n > 200 ? ", \u2026" : "");
    updateMarks(state);
  }

  function saveSelection(state) {
    var text = Array.prototype.join.call(state.selection, "\n") + "\n";
    var a = document.createElement("a");
    a.href = URL.createObjectURL(new Blob([text], { type: "text/plain" }));
    a.download = "selection.txt";
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function drawShape(state, shape) {
    var overlay = $("overlay"), ctx = overlay.getContext("2d");
    ctx.clearRect(0, 0, overlay.width, overlay.height);
    if (!shape || shape.length < 2) return;
    var r = window.devicePixelRatio || 1;
    ctx.beginPath();
    shape.forEach(function (p, k) { ctx[k ? "lineTo" : "moveTo"](p[0] * r, p[1] * r); });
    ctx.closePath();
    ctx.fillStyle = "rgba(40, 40, 40, 0.08)";
    ctx.strokeStyle = "rgba(40, 40, 40, 0.8)";
    ctx.setLineDash([5 * r, 4 * r]);
    ctx.fill();
    ctx.stroke();
  }

  function selectionGestures(state, canvas) {
    var shape = null;
    canvas.addEventListener("pointerdown", function (e) {
      if (state.mode === "pan" || e.button !== 0) return;
      shape = [[e.offsetX, e.offsetY]];
      canvas.setPointerCapture(e.pointerId);
    });
    canvas.addEventListener("pointermove", function (e) {
      if (!shape) return;
      if (state.mode === "box") {
        var a = shape[0];
        shape = [a, [e.offsetX, a[1]], [e.offsetX, e.offsetY], [a[0], e.offsetY]];
      } else {
        shape.push([e.offsetX, e.offsetY]);
      }
      drawShape(state, shape);
    });
    canvas.addEventListener("pointerup", function () {
      if (!shape) return;
      if (shape.length > 2) selectPolygon(state, shape);
      shape = null;
      drawShape(state, null);
    });
  }

  function setMode(state, mode) {
    state.mode = mode;
    ["pan", "box", "lasso"].forEach(function (m) { $("mode-" + m).classList.toggle("active", m === mode); });
    if (state.cam.controls) state.cam.controls.enabled = mode === "pan";
    state.canvas.style.cursor = mode === "pan" ? "grab" : "crosshair";
  }

  // --- search: a class name highlights and selects the class; a number centres on that point -----------

  function search(state, text) {
    text = text.trim();
    var message = $("search-result");
    state.searched = -1;
    if (text === "") {
      state.sticky = state.highlight = -1;
      message.textContent = "";
      refreshStates(state);
      updateMarks(state);
      return;
    }
    if (/^\d+$/.test(text)) {
      var i = Number(text);
      if (i >= state.n) { message.textContent = "no point " + i + " (0 to " + (state.n - 1) + ")"; return; }
      state.searched = i;
      state.cam.centreOn(Array.prototype.slice.call(state.positions.subarray(i * 3, i * 3 + 3)));
      pin(state, i);
      message.textContent = describe(state, i);
      updateMarks(state);
      return;
    }
    var lower = text.toLowerCase(), c = state.names.findIndex(function (n) { return n.toLowerCase() === lower; });
    if (c < 0) c = state.names.findIndex(function (n) { return n.toLowerCase().indexOf(lower) >= 0; });
    if (c < 0) { message.textContent = "no class or point '" + text + "'"; return; }
    state.sticky = state.highlight = c;
    state.hidden[c] = false;
    refreshStates(state);
    var members = [];
    for (var k = 0; k < state.n; ++k) if (state.labels[k] === c) members.push(k);
    setSelection(state, Int32Array.from(members));
    message.textContent = state.names[c] + ": " + members.length.toLocaleString("en") + " points";
  }

  // --- frames of a recorded optimisation: a slider and a play button ------------------------------------

  function setFrame(state, f) {
    var frames = state.frames, count = state.meta.frames, size = state.n * state.dims;
    f = Math.max(0, Math.min(count - 1, f));
    var a = Math.floor(f), b = Math.min(count - 1, a + 1), t = f - a;
    fillPositions(state, state.frameA, frames, a * size, state.finalStats);
    if (t > 0) {
      fillPositions(state, state.frameB, frames, b * size, state.finalStats);
      for (var i = 0; i < state.positions.length; ++i) {
        state.positions[i] = state.frameA[i] + (state.frameB[i] - state.frameA[i]) * t;
      }
    } else {
      state.positions.set(state.frameA);
    }
    state.positionAttribute.needsUpdate = true;
    $("frame-slider").value = f;
    $("frame-label").textContent = "frame " + (a + 1) + " / " + count;
    state.frame = f;
    state.cameraMoved();
    updateMarks(state);
  }

  function frameControls(state) {
    var count = state.meta.frames;
    if (!(count > 1)) return;
    state.frameA = new Float32Array(state.n * 3);
    state.frameB = new Float32Array(state.n * 3);
    state.finalStats = frameStats(state.coords, 0, state.n, state.dims);
    var slider = $("frame-slider"), button = $("frame-play"), playing = false;
    slider.max = count - 1;
    slider.step = 0.01;
    $("frames").hidden = false;
    slider.addEventListener("input", function () { setFrame(state, Number(slider.value)); });
    function tick() {
      if (!playing) return;
      var next = state.frame + Math.max(0.05, count / 240);
      setFrame(state, Math.min(next, count - 1));
      if (next >= count - 1) { playing = false; button.textContent = "\u25b6"; return; }
      requestAnimationFrame(tick);
    }
    button.addEventListener("click", function () {
      playing = !playing;
      button.textContent = playing ? "\u275a\u275a" : "\u25b6";
      if (playing && state.frame >= count - 1) setFrame(state, 0);
      if (playing) requestAnimationFrame(tick);
    });
    state.frame = count - 1;
    $("frame-label").textContent = "frame " + count + " / " + count;
    slider.value = count - 1;
  }

  // --- the page --------------------------------------------------------------------------------------------

  function makeState(d) {
    var meta = d.meta, n = meta.n;
    var state = {
      meta: meta, n: n, dims: meta.dims, names: meta.names, colours: meta.colours, faded: meta.faded || 0,
      coords: d.coords, labels: d.labels, thumbs: d.thumbs, frames: d.frames, positions: new Float32Array(n * 3),
      hidden: [], highlight: -1, sticky: -1, searched: -1, selection: new Int32Array(0), mode: "pan",
      materials: [], projectionDirty: true, scene: new THREE.Scene(), pointSize: meta.pointSize
    };
    state.jitterSpan = 0;
    if (state.dims === 1) {
      var lo = Infinity, hi = -Infinity;
      for (var i = 0; i < n; ++i) { lo = Math.min(lo, d.coords[i]); hi = Math.max(hi, d.coords[i]); }
      state.jitterSpan = 0.15 * (hi > lo ? hi - lo : 1);
    }
    fillPositions(state, state.positions, d.coords, 0, null);
    return state;
  }

  function start(d) {
    var state = makeState(d), canvas = $("canvas");
    state.canvas = canvas;
    var renderer = new THREE.WebGLRenderer({ canvas: canvas, antialias: false, preserveDrawingBuffer: true });
    renderer.setPixelRatio(window.devicePixelRatio || 1);
    renderer.setClearColor(0xffffff, 1);
    makePalette(state);
    makeLayers(state);
    var pending = false;
    state.requestRender = function () {
      if (pending) return;
      pending = true;
      requestAnimationFrame(function () { pending = false; renderer.render(state.scene, state.cam.camera); });
    };
    state.cameraMoved = function () { state.projectionDirty = true; state.requestRender(); };
    function resize() {
      renderer.setSize(canvas.clientWidth, canvas.clientHeight, false);
      var overlay = $("overlay"), r = window.devicePixelRatio || 1;
      overlay.width = canvas.clientWidth * r;
      overlay.height = canvas.clientHeight * r;
      if (state.cam) state.cam.update();
    }
    resize();
    state.cam = state.dims === 3 ? new Camera3D(state, canvas) : new Camera2D(state, canvas);
    if (state.dims !== 3) panGestures(state.cam, canvas, state);
    window.addEventListener("resize", resize);
    wire(state, canvas);
    renderer.render(state.scene, state.cam.camera);
    renderer.getContext().finish();
    exposeHook(state);
  }

  function wire(state, canvas) {
    buildLegend(state);
    selectionGestures(state, canvas);
    frameControls(state);
    canvas.addEventListener("pointermove", function (e) {
      if (e.buttons) { showTooltip(state, -1); return; }
      showTooltip(state, nearest(state, e.offsetX, e.offsetY, Math.max(6, state.pointSize)), e.offsetX, e.offsetY);
    });
    canvas.addEventListener("pointerleave", function () { showTooltip(state, -1); });
    var down = [0, 0];  // a click ends a drag (pan, rotation) only when the pointer hardly moved
    canvas.addEventListener("pointerdown", function (e) { down = [e.offsetX, e.offsetY]; });
    canvas.addEventListener("click", function (e) {
      if (state.mode !== "pan" || Math.hypot(e.offsetX - down[0], e.offsetY - down[1]) > 4) return;
      pin(state, nearest(state, e.offsetX, e.offsetY, Math.max(6, state.pointSize)));
    });
    ["pan", "box", "lasso"].forEach(function (m) {
      $("mode-" + m).addEventListener("click", function () { setMode(state, m); });
    });
    setMode(state, "pan");
    $("search").addEventListener("change", function (e) { search(state, e.target.value); });
    $("selection-save").addEventListener("click", function () { saveSelection(state); });
    $("selection-clear").addEventListener("click", function () { setSelection(state, new Int32Array(0)); });
    $("pinned-close").addEventListener("click", function () { pin(state, -1); });
    var size = $("point-size");
    size.value = state.pointSize;
    size.addEventListener("input", function () {
      state.pointSize = Number(size.value);
      state.materials.forEach(function (m) {
        m.uniforms.pointSize.value = m === state.marks.material ? markSize(state.pointSize) : state.pointSize;
      });
      state.requestRender();
    });
    $("count").textContent = state.n.toLocaleString("en") + " points, " + state.dims + "-D" +
        (state.meta.frames > 1 ? ", " + state.meta.frames + " frames" : "");
  }

  function exposeHook(state) {
    view.pointCount = state.n;
    view.dims = state.dims;
    view.frameCount = state.meta.frames || 0;
    view.screenPosition = function (i) {
      project(state);
      var r = state.canvas.getBoundingClientRect();
      return [r.left + state.screen[i * 2], r.top + state.screen[i * 2 + 1]];
    };
    view.labelOf = function (i) { return state.names.length ? state.names[state.labels[i]] : null; };
    view.hiddenClasses = function () {
      return state.names.filter(function (_, c) { return !!state.hidden[c]; });
    };
    view.selected = function () { return Array.prototype.slice.call(state.selection); };
    view.selectPolygon = function (points) { return selectPolygon(state, points); };
    view.setFrame = function (f) { setFrame(state, f); };
    view.search = function (text) { search(state, text); };
    requestAnimationFrame(function () {
      view.readyMs = Math.round(performance.now());
      view.ready = true;
      document.body.dataset.ready = "true";
    });
  }

  function main() {
    if (!window.THREE) return fail("three.js is missing from the page");
    if (typeof DecompressionStream === "undefined") {
      return fail("this browser cannot decompress the data (DecompressionStream: Chromium 80+, Firefox 113+)");
    }
    var probe = document.createElement("canvas");
    if (!(probe.getContext("webgl") || probe.getContext("experimental-webgl"))) {
      return fail("WebGL is not available in this browser, so the points cannot be drawn");
    }
    var meta = JSON.parse($("treesne-meta").textContent);
    document.title = meta.title || "treesne view";
    $("title").textContent = meta.title || "treesne view";
    decode(meta).then(function (d) {
      view.decodedMs = Math.round(performance.now());
      start(d);
    }).catch(function (e) { fail(String(e && e.message || e)); });
  }

  main();
})();
