"""Lesson 09's exercises: cosine top-k over raw (unnormalised) vectors, and MRR@k from a score matrix.

The notebook's search compares vectors `emb.encode` already scaled to length 1, so a dot product
is the cosine; the exercise hands over raw vectors, where forgetting the normalisation lets long
vectors win. The lesson's MRR (`search.mean_reciprocal_rank`) reads ranks off sorted rankings and
has no cut-off; the exercise starts from the scores and adds the cut-off at k, so copying the
package's function does not solve it. The reference solutions are sealed.

Room: quiz.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from bertcourse.quiz.exercises.lessons._judging import as_float
from bertcourse.quiz.exercises.spec import Call, Exercise, Test, describe

# ----------------------------------------------------------------------------- cosine top-k

TOP_K_INTRO = """### Exercise: cosine top-k from raw vectors

The search above relies on `emb.encode` having scaled every vector to length 1, so that a dot
product is a cosine. Vectors from elsewhere (a mean of token vectors, another library, a
database) are usually not unit length. Write the search for raw vectors: the k documents with
the highest cosine to the query, best first, with their cosines.
"""

TOP_K_STUB = '''import numpy as np


def cosine_top_k(query, documents, k):
    """The k documents most similar to the query by cosine, best first.

    query: a (dim,) NumPy array; documents: a (n, dim) array, one document vector per row.
    Neither is normalised, and none is all zeros.
    Return (indices, cosines): two lists of length min(k, n), the document indices (ints) from
    the highest cosine down, and their cosines (floats, in [-1, 1]). Ties keep the lower index
    first. Do not modify the arrays.
    """
    raise NotImplementedError("write the body of cosine_top_k")
'''


def _top_k_judge(got: Any, call: Call) -> str | None:
    indices_expected, cosines_expected = call.expected
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        return f"expected a pair (indices, cosines), got {describe(got)}."
    indices, cosines = got
    try:
        indices = [int(index) for index in indices]
        cosines = [float(value) for value in cosines]
    except (TypeError, ValueError, OverflowError):
        return f"expected two lists, indices (ints) and cosines (floats), got {describe(got)}."
    if len(indices) != len(indices_expected) or len(cosines) != len(indices_expected):
        return (f"expected {len(indices_expected)} results (min(k, n)), got {len(indices)} indices and "
                f"{len(cosines)} cosines.")
    if any(not math.isclose(a, b, abs_tol=1e-5) for a, b in zip(cosines, cosines_expected)):
        message = f"expected cosines {np.round(cosines_expected, 4).tolist()}, got {np.round(cosines, 4).tolist()}"
        if any(abs(value) > 1 + 1e-5 for value in cosines):
            message += ": a cosine lies in [-1, 1]; divide the dot products by both vectors' lengths"
        elif len(cosines) > 1 and cosines[0] < cosines[-1]:
            message += ": best first means the highest cosine first"
        return message + "."
    if indices != indices_expected:
        return f"expected documents {indices_expected}, got {indices} (the cosines are right; check the order)."
    return None


def _search(query: list[float], documents: list[list[float]], k: int) -> dict[str, Any]:
    return {"query": np.array(query, dtype=np.float64), "documents": np.array(documents, dtype=np.float64), "k": k}


def _random_search(seed: int) -> dict[str, Any]:
    """Random directions with very different lengths (fixed seed)."""
    rng = np.random.default_rng(seed)
    documents = rng.normal(size=(50, 16)) * rng.uniform(0.1, 20.0, size=(50, 1))
    return {"query": rng.normal(size=16) * 7.0, "documents": documents, "k": 5}


def _show_search(inputs: Mapping[str, Any]) -> str:
    documents = inputs["documents"]
    if documents.size > 24:
        lengths = np.linalg.norm(documents, axis=1)
        return (f"{len(documents)} documents of dimension {documents.shape[1]} with lengths from "
                f"{lengths.min():.1f} to {lengths.max():.1f}, k={inputs['k']}")
    return f"query={inputs['query'].tolist()}, documents={documents.tolist()}, k={inputs['k']}"


TOP_K = Exercise(
    id="09_cosine_top_k",
    anchor='query = "how to fix a leaking faucet"',
    intro=TOP_K_INTRO,
    stub=TOP_K_STUB,
    hints=("Scale the query and every document row to length 1 (np.linalg.norm(..., axis=1, keepdims=True)); "
           "then one matrix-vector product gives every cosine.",
           "np.argsort(-cosines, kind='stable')[:k] orders best first and keeps ties in index order."),
    tests=(
        Test(name="fixed: a long vector must not win", kind="fixed",
             inputs=lambda: _search([2.0, 0.0], [[10.0, 10.0], [0.5, 0.0], [0.0, 3.0], [-1.0, 0.0]], 2),
             judge=_top_k_judge, show=_show_search,
             hint="Document 1 points exactly along the query (cosine 1) although it is short; document 0 is "
                  "long but at 45° (cosine 0.707). A plain dot product ranks them the other way."),
        Test(name="fixed: best first", kind="fixed",
             inputs=lambda: _search([0.0, 2.0], [[1.0, 0.0], [1.0, 1.0], [0.0, 5.0]], 3),
             judge=_top_k_judge, show=_show_search,
             hint="Cosines 0, 0.707 and 1: the order is 2, 1, 0."),
        Test(name="edge: k larger than the collection", kind="edge",
             inputs=lambda: _search([1.0, 1.0], [[2.0, 1.0], [1.0, 2.0]], 5),
             judge=_top_k_judge, show=_show_search,
             hint="Only 2 documents: return both (min(k, n) results)."),
        Test(name="edge: a tie keeps the lower index first", kind="edge",
             inputs=lambda: _search([1.0, 0.0], [[0.0, 1.0], [3.0, 0.0], [3.0, 0.0]], 2),
             judge=_top_k_judge, show=_show_search,
             hint="Documents 1 and 2 are the same vector: 1 before 2 (a stable sort)."),
        Test(name="edge: one document", kind="edge",
             inputs=lambda: _search([0.3, -0.4], [[-3.0, 4.0]], 1), judge=_top_k_judge, show=_show_search,
             hint="Opposite directions: cosine -1, and it is still the top 1."),
        *(Test(name=f"property: 50 random documents of very different lengths (seed {seed})", kind="property",
               inputs=lambda seed=seed: _random_search(seed), judge=_top_k_judge, show=_show_search,
               hint="Normalise both sides; then every cosine lies in [-1, 1] and a document's length no "
                    "longer matters.")
          for seed in (1, 2)),
    ),
)

# ------------------------------------------------------------------------------------- MRR@k

MRR_INTRO = """### Exercise: MRR@k straight from the scores

The table above ranks every document (`search.rankings`) and then reads the rank of each query's
answer. Compute **MRR@k** straight from the score matrix instead: a query scores 1 / the rank of
its best-ranked relevant document, but 0 when that rank is beyond k (a user reads only the top
k; MS MARCO reports MRR@10). A document's rank is 1 + the number of documents ranked above it.
"""

MRR_STUB = '''import numpy as np


def mrr_at_k(scores, relevant, k):
    """Mean reciprocal rank with a cut-off at k, as a float.

    scores: a (queries, documents) NumPy array, higher = better;
    relevant: one set per query, the indices of the documents that answer it;
    k: only ranks 1..k count.
    Rank documents by score, highest first, a tie going to the lower document index (as the
    stable sort of `search.rankings` does); the top document has rank 1. A query contributes
    1 / rank of its best-ranked relevant document if that rank is <= k, else 0 (also when it
    has no relevant document). Return the mean over all queries; 0.0 if there are none.
    Do not modify the arguments.
    """
    raise NotImplementedError("write the body of mrr_at_k")
'''


def _mrr_judge(got: Any, call: Call) -> str | None:
    value = as_float(got)
    if isinstance(value, str):
        return value
    expected = call.expected
    if math.isclose(value, expected, abs_tol=1e-9):
        return None
    return f"expected {expected:.4f}, got {value:.4f}."


def _mrr_inputs(scores: list[list[float]], relevant: list[set[int]], k: int) -> dict[str, Any]:
    return {"scores": np.array(scores, dtype=np.float64).reshape(len(scores), -1),
            "relevant": [set(items) for items in relevant], "k": k}


def _show_mrr(inputs: Mapping[str, Any]) -> str:
    scores = inputs["scores"]
    if scores.size > 24:
        return (f"scores for {scores.shape[0]} queries x {scores.shape[1]} documents, "
                f"{sum(map(len, inputs['relevant']))} relevant documents in all, k={inputs['k']}")
    return f"scores={scores.tolist()}, relevant={inputs['relevant']}, k={inputs['k']}"


def _random_mrr(seed: int) -> dict[str, Any]:
    """40 queries x 30 documents, scores rounded so that ties occur (fixed seed)."""
    rng = np.random.default_rng(seed)
    scores = np.round(rng.normal(size=(40, 30)), 1)
    relevant = [{int(i) for i in rng.choice(30, size=int(rng.integers(0, 4)), replace=False)} for _ in range(40)]
    return {"scores": scores, "relevant": relevant, "k": 10}


MRR = Exercise(
    id="09_mrr_at_k",
    anchor="keyword = search.rankings(bm25.score_matrix(queries))",
    intro=MRR_INTRO,
    stub=MRR_STUB,
    hints=("For one query, the rank of document d is 1 + (documents scoring higher than d) + (documents "
           "scoring the same with a lower index); or sort with np.argsort(-row, kind='stable').",
           "Take the smallest rank among the relevant documents; count 1 / rank only if rank <= k, and "
           "divide by the number of all queries."),
    tests=(
        Test(name="fixed: answers ranked 1, 2 and 4", kind="fixed",
             inputs=lambda: _mrr_inputs([[0.9, 0.1, 0.5, 0.0], [0.2, 0.8, 0.7, 0.0], [0.4, 0.3, 0.2, 0.6]],
                                        [{0}, {2}, {2}], 10),
             judge=_mrr_judge, show=_show_mrr,
             hint="Ranks 1, 2 and 4: (1/1 + 1/2 + 1/4) / 3 = 0.5833. The highest score has rank 1, not 0."),
        Test(name="fixed: higher scores rank first", kind="fixed",
             inputs=lambda: _mrr_inputs([[0.1, 0.2, 0.9, 0.5]], [{3}], 10), judge=_mrr_judge, show=_show_mrr,
             hint="Only document 2 (0.9) scores higher than document 3 (0.5): rank 2, MRR 0.5."),
        Test(name="fixed: the best-ranked relevant document counts", kind="fixed",
             inputs=lambda: _mrr_inputs([[0.3, 0.9, 0.5, 0.7]], [{0, 2}], 10), judge=_mrr_judge, show=_show_mrr,
             hint="Relevant documents 2 (rank 3) and 0 (rank 4): only the better one counts, 1/3."),
        Test(name="edge: beyond the cut-off", kind="edge",
             inputs=lambda: _mrr_inputs([[0.9, 0.8, 0.7, 0.6], [0.9, 0.8, 0.7, 0.6]], [{2}, {3}], 3),
             judge=_mrr_judge, show=_show_mrr,
             hint="With k = 3, rank 3 still counts (1/3) but rank 4 counts 0: (1/3 + 0) / 2."),
        Test(name="edge: a tie goes to the lower index", kind="edge",
             inputs=lambda: _mrr_inputs([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], [{0}, {1}], 10),
             judge=_mrr_judge, show=_show_mrr,
             hint="All scores tie: document 0 has rank 1 and document 1 rank 2, so (1 + 1/2) / 2 = 0.75."),
        Test(name="edge: a query without relevant documents", kind="edge",
             inputs=lambda: _mrr_inputs([[0.2, 0.1], [0.1, 0.2]], [{0}, set()], 10), judge=_mrr_judge,
             show=_show_mrr, hint="The second query contributes 0 and still counts: (1 + 0) / 2."),
        Test(name="edge: one query, one document", kind="edge",
             inputs=lambda: _mrr_inputs([[0.3]], [{0}], 1), judge=_mrr_judge, show=_show_mrr,
             hint="The only document is first: 1.0."),
        Test(name="edge: no queries", kind="edge",
             inputs=lambda: {"scores": np.zeros((0, 5)), "relevant": [], "k": 10}, judge=_mrr_judge,
             show=_show_mrr, hint="Nothing to average: return 0.0 instead of dividing by zero."),
        Test(name="property: 40 random queries with ties, k = 10", kind="property",
             inputs=lambda: _random_mrr(3), judge=_mrr_judge, show=_show_mrr,
             hint="Per query: the best rank among its relevant documents (ties to the lower index), 1 / rank "
                  "if it is at most k, else 0; then the mean over all 40."),
    ),
)

EXERCISES = [TOP_K, MRR]
