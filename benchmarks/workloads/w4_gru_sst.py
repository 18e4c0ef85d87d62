"""W4, the tutorial's GRU sentence classifier (examples/gru_sst.py) on the Stanford
Sentiment Treebank: one scan over each sentence, one SGD step per sentence.

The model of ``reference-results.md``: word embeddings (n_words x 200), a GRU of 100
units (``m = sigmoid(x W_xm + h W_hm)``, ``r, z = m[:100], m[100:]``,
``h~ = tanh(x W_xh + (r*h) W_hh)``, ``h = z*h + (1-z)*h~``, ``h0 = 0``), softmax over 5
classes from ``W_output h_last``, cost ``-log p[target] + 1e-4 * sum of squares of all
six parameters``, SGD with learning rate 0.1 (a float32 input, as in the example), all
in float64.  The data preparation is the example's (lower-cased tokens, vocabulary of
the training words seen at least twice, ``[<s>] + ids + [</s>]``, training set shuffled
with ``random.seed(1)``); the six initial parameter values are drawn from
``RandomState(42)`` beforehand, in the reference order, for every framework.

* theanine and PyTensor run the example's ``RnnClassifier`` code (``scan``), with the
  library's module names and the framework's mode; the train and test functions are
  compiled in the constructor, as in the example.
* JAX: ``lax.scan`` inside ``jax.jit``; a new sentence length means a new trace and
  compile (the mean per step shows it).  PyTorch: eager, a Python loop over the words
  with autograd.  The embedding gradient is dense everywhere (the L2 term makes it dense
  anyway).  NumPy: no runner (n/a).

Metrics: "compile + first step" = building the model (graphs, compiling train and test)
and the first training step; then the per-step median and mean over the next steps of
the first ``N_STEPS`` shuffled training sentences (steps 2..500; ``--quick``: 2..30),
each call individually timed, taking a Python list of word ids and returning host
values; then (without ``--full``) a second pass over the same sentences, timed the same
way: the steady state, with no new sentence length for JAX to compile, and for theanine
FAST_RUN after waiting for its background native compile (whose duration is reported).  With ``--full`` training goes on for the whole 3 epochs and the test set
follows: wall time and test accuracy (>= 0.35); the three epoch costs are checked against
``reference-results.md`` to 1 % (the published run's Python 2 shuffle cannot be reproduced).  Without ``--full`` the check is the summed
cost of the first ``N_STEPS`` steps (the same float64 computation in every framework).
"""

from __future__ import annotations

import collections
import functools
import random

import numpy as np

from benchmarks.frameworks import native_info
from benchmarks.harness import Stopwatch, gc_disabled, perf_ns, wait_native
from benchmarks.workloads import DATA_DIR, Metric

NAME = "W4"
TITLE = "W4: GRU sentence classifier (SST, scan over each sentence, per-sentence SGD)"
METRICS = [
    Metric("compile_first_s", "compile + first step", "s", compile=True),
    Metric("step_s", "per training step, first 500 sentences (median)", "ms", warm_twin=True),
    Metric("step_mean_s", "per training step, first 500 sentences (mean)", "ms",
           warm_twin=True),
    Metric("steady_s", "second pass over the same 500 sentences, per step (median)", "ms"),
    Metric("steady_mean_s", "second pass over the same 500 sentences, per step (mean)", "ms"),
    Metric("native_compile_s", "theanine: background native compile", "s", better=None),
    Metric("cost_first", "summed cost of the first 500 steps", "value", better=None),
    Metric("full_wall_s", "full run: compile + 3 epochs + test, wall time", "s", full=True),
    Metric("full_train_s", "full run: the 3 training epochs", "s", full=True),
    Metric("full_step_s", "full run: per training step (mean)", "ms", full=True),
    Metric("epoch_costs", "full run: epoch costs", "text", better=None, full=True),
    Metric("test_accuracy", "full run: test accuracy (reference 0.3498)", "value",
           better=None, full=True),
]

EMB, HID, N_CLASSES, L2, LR, EPOCHS = 200, 100, 5, 0.0001, 0.1, 3
REFERENCE_EPOCH_COSTS = [25929.9481023, 21541.7328736, 17857.7320117]
REFERENCE_TEST_ACCURACY = 0.349773755656
# summed training cost of the first 500 (--quick: 30) shuffled sentences, float64; the
# same figure from theanine, PyTensor, JAX and PyTorch
REFERENCE_FIRST_COST = {500: 1662.1124289067095, 30: 96.76246244170996}


def _n_steps(ctx):
    return 30 if ctx.quick else 500


# -- data: the example's preparation (examples/gru_sst.py, theanine.datasets.load_sst) --

def read_sst(split):
    """Like ``theanine.datasets.load_sst(split)``: (label, tokens) per line."""
    out = []
    with open(DATA_DIR / "sst" / f"{split}.tsv", encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.strip():
                label, _, sentence = line.partition("\t")
                out.append((int(label), sentence.split(" ")))
    return out


def create_dictionary(sentences, min_freq):
    counter = collections.Counter()
    for sentence in sentences:
        counter.update(sentence)
    word2id = collections.OrderedDict([("<unk>", 0), ("<s>", 1), ("</s>", 2)])
    for word, count in counter.most_common():
        if count >= min_freq and word not in word2id:
            word2id[word] = len(word2id)
    return word2id


def sentence2ids(words, word2id):
    return [word2id["<s>"]] + [word2id.get(w, word2id["<unk>"]) for w in words] + \
        [word2id["</s>"]]


def data():
    def lower(d):
        return [(label, [w.lower() for w in words]) for label, words in d]

    sentences_train, sentences_test = lower(read_sst("train")), lower(read_sst("test"))
    word2id = create_dictionary([s for _, s in sentences_train], 2)
    data_train = [(score, sentence2ids(words, word2id)) for score, words in sentences_train]
    data_test = [(score, sentence2ids(words, word2id)) for score, words in sentences_test]
    random.seed(1)
    random.shuffle(data_train)
    return len(word2id), data_train, data_test


def initial_params(n_words):
    """E, W_xm, W_hm, W_xh, W_hh, W_output, drawn in the reference order."""
    rng = np.random.RandomState(42)
    shapes = [(n_words, EMB), (EMB, 2 * HID), (HID, 2 * HID), (EMB, HID), (HID, HID),
              (N_CLASSES, HID)]
    return [np.asarray(rng.normal(loc=0.0, scale=0.1, size=s), dtype=np.float64)
            for s in shapes]


# -- the loop shared by every framework --

def _run(ctx, build):
    """``build(n_words, init)`` -> (train, test); train(ids list, target, lr) and
    test(ids list, target) return (cost, predicted class) as host values."""
    n_words, data_train, data_test = data()
    init = initial_params(n_words)
    n = _n_steps(ctx)
    res = {"n_words": n_words}
    with Stopwatch() as sw:
        train, test = build(n_words, init)
        target, ids = data_train[0]
        first = train(ids, target, LR)
    res["compile_first_s"] = sw.s

    pc = perf_ns
    steps, epoch_costs, epoch_acc = [], [], []
    epochs = EPOCHS if ctx.full else 1
    with gc_disabled():
        t_train = pc()
        for epoch in range(epochs):
            cost_sum, correct = 0.0, 0
            for k, (target, ids) in enumerate(data_train):
                if epoch == 0 and k == 0:
                    cost, pred = first  # timed above, in compile_first_s
                else:
                    t0 = pc()
                    cost, pred = train(ids, target, LR)
                    steps.append(pc() - t0)
                cost_sum += float(cost)
                correct += int(pred == target)
                if epoch == 0 and k == n - 1:
                    res["cost_first"] = cost_sum
                    first_steps = list(steps)
                    if not ctx.full:
                        break
            epoch_costs.append(cost_sum)
            epoch_acc.append(correct / len(data_train))
        train_s = (pc() - t_train) * 1e-9
    res["step_s"] = float(np.median(first_steps)) * 1e-9
    res["step_mean_s"] = float(np.mean(first_steps)) * 1e-9
    res["step_max_s"] = float(np.max(first_steps)) * 1e-9
    res["first_lengths"] = len({len(ids) for _, ids in data_train[:n]})
    if not ctx.full:
        # the same sentences again (training goes on): no new lengths for JAX to compile;
        # theanine FAST_RUN first finishes its background native compile
        waited = wait_native(train)
        if waited is not None:
            res["native_wait_s"] = waited
            res["native_compile_s"] = (native_info(train) or {}).get("numba_compile_s")
        again = []
        with gc_disabled():
            for target, ids in data_train[:n]:
                t0 = pc()
                train(ids, target, LR)
                again.append(pc() - t0)
        res["steady_s"] = float(np.median(again)) * 1e-9
        res["steady_mean_s"] = float(np.mean(again)) * 1e-9
    res["native"] = native_info(train)
    ref = REFERENCE_FIRST_COST.get(n)
    res["ok"] = bool(np.isfinite(res["cost_first"])) and (
        ref is None or abs(res["cost_first"] - ref) <= 1e-7 * abs(ref))
    if ctx.full:
        with Stopwatch() as sw_test:
            correct = 0
            test_cost = 0.0
            for target, ids in data_test:
                cost, pred = test(ids, target)
                test_cost += float(cost)
                correct += int(pred == target)
        res["full_train_s"] = train_s
        res["full_step_s"] = float(np.mean(steps)) * 1e-9
        res["full_wall_s"] = res["compile_first_s"] + train_s + sw_test.s
        res["test_s"] = sw_test.s
        res["test_cost"] = test_cost
        res["test_accuracy"] = correct / len(data_test)
        res["epoch_costs"] = ", ".join(f"{c:.4f}" for c in epoch_costs)
        res["epoch_accuracies"] = epoch_acc
        # The published run shuffled with Python 2's random: every framework here sees
        # Python 3's order, so epoch costs agree with the reference to about 1 %, not 1e-5;
        # the criterion is the spec's test accuracy >= 0.35.
        res["ok"] = res["ok"] and res["test_accuracy"] >= 0.35 and all(
            abs(c - r) <= 0.01 * r for c, r in zip(epoch_costs, REFERENCE_EPOCH_COSTS))
    return res


# -- the frameworks --

def theano(ctx):
    """examples/gru_sst.py's RnnClassifier, with ctx's library, mode and helpers."""
    lib, T = ctx.lib, ctx.T

    def build(n_words, init):
        floatX = lib.config.floatX
        recurrent_size = HID
        params = collections.OrderedDict()
        values = dict(zip(["word_embeddings", "W_xm", "W_hm", "W_xh", "W_hh", "W_output"],
                          init))

        def create_parameter_matrix(name, size):
            vals = np.asarray(values[name], dtype=floatX)
            assert vals.shape == size
            params[name] = lib.shared(vals, name)
            return params[name]

        input_indices = T.ivector("input_indices")
        target_class = T.iscalar("target_class")
        learningrate = T.fscalar("learningrate")

        word_embeddings = create_parameter_matrix("word_embeddings", (n_words, EMB))
        input_vectors = word_embeddings[input_indices]

        def gru_step(x, h_prev, W_xm, W_hm, W_xh, W_hh):
            m = ctx.sigmoid(T.dot(x, W_xm) + T.dot(h_prev, W_hm))
            r = m[:recurrent_size]
            z = m[recurrent_size:]
            _h = T.tanh(T.dot(x, W_xh) + T.dot(r * h_prev, W_hh))
            h = z * h_prev + (1.0 - z) * _h
            return h

        W_xm = create_parameter_matrix("W_xm", (EMB, recurrent_size * 2))
        W_hm = create_parameter_matrix("W_hm", (recurrent_size, recurrent_size * 2))
        W_xh = create_parameter_matrix("W_xh", (EMB, recurrent_size))
        W_hh = create_parameter_matrix("W_hh", (recurrent_size, recurrent_size))
        initial_hidden_vector = T.alloc(np.array(0, dtype=floatX), recurrent_size)

        hidden_vector, _ = ctx.scan(
            gru_step,
            sequences=input_vectors,
            outputs_info=initial_hidden_vector,
            non_sequences=[W_xm, W_hm, W_xh, W_hh],
        )
        hidden_vector = hidden_vector[-1]

        W_output = create_parameter_matrix("W_output", (N_CLASSES, recurrent_size))
        output = ctx.softmax([T.dot(W_output, hidden_vector)])[0]
        predicted_class = T.argmax(output)

        cost = -1.0 * T.log(output[target_class])
        for p in params.values():
            cost += L2 * (T.sqr(p).sum())

        gradients = T.grad(cost, list(params.values()))
        updates = [(p, p - (learningrate * g)) for p, g in zip(params.values(), gradients)]

        train = ctx.function([input_indices, target_class, learningrate],
                             [cost, predicted_class], updates=updates,
                             allow_input_downcast=True)
        test = ctx.function([input_indices, target_class], [cost, predicted_class],
                            allow_input_downcast=True)
        return train, test

    return _run(ctx, build)


def jax(ctx):
    return _run(ctx, functools.partial(_jax_build, ctx, None))


PAD = 8  # jax_padded: sentences padded to the next multiple of PAD words


def jax_padded(ctx):
    """JAX as the spec's "padded by hand" row: each sentence padded with word 0 to the
    next multiple of ``PAD`` words, the padding steps masked (the hidden state passes
    through them unchanged, so costs and gradients are the unpadded ones): one compile per
    padded length (8 for SST) instead of one per length."""
    return _run(ctx, functools.partial(_jax_build, ctx, PAD))


def _jax_build(ctx, pad, n_words, init):
    jax, jnp = ctx.jax, ctx.jnp
    state = {"p": tuple(jnp.asarray(v) for v in init)}

    def loss(params, ids, n, target):
        E, W_xm, W_hm, W_xh, W_hh, W_output = params
        xs = E[ids]

        def gru_step(h_prev, xt):
            x, t = xt
            m = jax.nn.sigmoid(x @ W_xm + h_prev @ W_hm)
            r, z = m[:HID], m[HID:]
            _h = jnp.tanh(x @ W_xh + (r * h_prev) @ W_hh)
            h = z * h_prev + (1.0 - z) * _h
            return (h if pad is None else jnp.where(t < n, h, h_prev)), None

        steps = jnp.arange(ids.shape[0])
        h, _ = jax.lax.scan(gru_step, jnp.zeros(HID, jnp.float64), (xs, steps))
        output = jax.nn.softmax(W_output @ h)
        cost = -jnp.log(output[target])
        for p in params:
            cost = cost + L2 * jnp.sum(p * p)
        return cost, jnp.argmax(output)

    # the parameters' buffers are donated: updated in place, as Theano's updates are
    @functools.partial(jax.jit, donate_argnums=0)
    def jtrain(params, ids, n, target, lr):
        (cost, pred), g = jax.value_and_grad(loss, has_aux=True)(params, ids, n, target)
        return tuple(p - lr * gp for p, gp in zip(params, g)), cost, pred

    jtest = jax.jit(loss)

    def arrays(ids):
        """The word ids as int32 (padded with word 0 to a multiple of ``pad``) and the
        sentence's length."""
        n = len(ids)
        out = np.zeros(n if pad is None else -(-n // pad) * pad, np.int32)
        out[:n] = ids
        return out, np.int32(n)

    def train(ids, target, lr):
        # lr: a float32 input, as the Theano graph's fscalar
        a, n = arrays(ids)
        state["p"], cost, pred = jtrain(state["p"], a, n, np.int32(target),
                                        np.float64(np.float32(lr)))
        return float(cost), int(pred)

    def test(ids, target):
        a, n = arrays(ids)
        cost, pred = jtest(state["p"], a, n, np.int32(target))
        return float(cost), int(pred)

    return train, test


def torch(ctx):
    torch = ctx.torch

    def build(n_words, init):
        params = [torch.tensor(v, requires_grad=True) for v in init]

        def forward(ids, target):
            E, W_xm, W_hm, W_xh, W_hh, W_output = params
            xs = E[torch.as_tensor(ids)]
            h = torch.zeros(HID, dtype=torch.float64)
            for x in xs:
                m = torch.sigmoid(x @ W_xm + h @ W_hm)
                r, z = m[:HID], m[HID:]
                _h = torch.tanh(x @ W_xh + (r * h) @ W_hh)
                h = z * h + (1.0 - z) * _h
            output = torch.softmax(W_output @ h, dim=0)
            cost = -torch.log(output[target])
            for p in params:
                cost = cost + L2 * (p * p).sum()
            return cost, output

        def train(ids, target, lr):
            cost, output = forward(ids, target)
            grads = torch.autograd.grad(cost, params)
            lr = float(np.float32(lr))
            with torch.no_grad():
                for p, g in zip(params, grads):
                    p.sub_(lr * g)
            return cost.item(), int(output.argmax())

        def test(ids, target):
            with torch.no_grad():
                cost, output = forward(ids, target)
            return cost.item(), int(output.argmax())

        return train, test

    return _run(ctx, build)
