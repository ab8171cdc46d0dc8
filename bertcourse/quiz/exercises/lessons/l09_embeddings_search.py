"""Lesson 09's exercises: cosine top-k over raw (unnormalised) vectors, and mean reciprocal rank.

The notebook's search compares vectors `emb.encode` already scaled to length 1, so a dot product
is the cosine; the exercise hands over raw vectors, where forgetting the normalisation lets long
vectors win. MRR is computed by `search.mean_reciprocal_rank`, not in a cell. The reference
solutions are sealed.

Room: quiz.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping
from typing import Any

import numpy as np

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
    except (TypeError, ValueError):
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

# ------------------------------------------------------------------------------------- MRR

MRR_INTRO = """### Exercise: mean reciprocal rank

The table above scores each search with `search.mean_reciprocal_rank`. Write it: for each query,
1 / the rank of the first relevant document in its ranking (rank 1 is the top), 0 if no
relevant document was ranked; then the mean over the queries.
"""

MRR_STUB = '''def mean_reciprocal_rank(rankings, relevant):
    """Mean over queries of 1 / (rank of the first relevant document), as a float.

    rankings: one list per query of document indices, best first;
    relevant: one set per query, the indices of the documents that answer it.
    Ranks count from 1 (the top result has rank 1). A query whose ranking holds no relevant
    document contributes 0, and still counts in the mean. With no queries at all, return 0.0.
    """
    raise NotImplementedError("write the body of mean_reciprocal_rank")
'''


def _mrr_judge(got: Any, call: Call) -> str | None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        return f"expected one number (a float), got {describe(got)}."
    expected = call.expected
    if math.isclose(float(got), expected, abs_tol=1e-9):
        return None
    return f"expected {expected:.4f}, got {float(got):.4f}."


def _queries(rankings: list[list[int]], relevant: list[set[int]]) -> dict[str, Any]:
    return {"rankings": [list(ranking) for ranking in rankings], "relevant": [set(items) for items in relevant]}


def _random_queries(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    rankings, relevant = [], []
    for _ in range(40):
        rankings.append([int(i) for i in rng.permutation(30)[: int(rng.integers(5, 31))]])
        relevant.append({int(i) for i in rng.choice(30, size=int(rng.integers(1, 4)), replace=False)})
    return {"rankings": rankings, "relevant": relevant}


MRR = Exercise(
    id="09_mean_reciprocal_rank",
    anchor="keyword = search.rankings(bm25.score_matrix(queries))",
    intro=MRR_INTRO,
    stub=MRR_STUB,
    hints=("enumerate(ranking, start=1) gives ranks from 1; stop at the first relevant document.",
           "Divide the sum by the number of queries, the ones that found nothing included."),
    tests=(
        Test(name="fixed: ranks 1, 2 and 4", kind="fixed",
             inputs=lambda: _queries([[3, 1, 2], [0, 5, 1], [9, 8, 7, 6]], [{3}, {5}, {6}]), judge=_mrr_judge,
             hint="(1/1 + 1/2 + 1/4) / 3 = 0.5833: the top result has rank 1, not 0."),
        Test(name="fixed: only the first relevant document counts", kind="fixed",
             inputs=lambda: _queries([[4, 2, 7, 1]], [{7, 2}]), judge=_mrr_judge,
             hint="Documents 2 (rank 2) and 7 (rank 3) are both relevant: the first one found gives 1/2."),
        Test(name="edge: a query that found nothing", kind="edge",
             inputs=lambda: _queries([[1, 2], [0, 3]], [{1}, {9}]), judge=_mrr_judge,
             hint="The second query contributes 0 but still counts: (1 + 0) / 2 = 0.5."),
        Test(name="edge: one query", kind="edge", inputs=lambda: _queries([[5, 6, 7]], [{7}]), judge=_mrr_judge,
             hint="A single query with the answer third: 1/3."),
        Test(name="edge: no queries", kind="edge", inputs=lambda: _queries([], []), judge=_mrr_judge,
             hint="Nothing to average: return 0.0 instead of dividing by zero."),
        Test(name="edge: an empty ranking", kind="edge", inputs=lambda: _queries([[], [2]], [{2}, {2}]),
             judge=_mrr_judge, hint="An empty ranking found nothing: 0 for that query, (0 + 1) / 2."),
        Test(name="property: 40 random queries", kind="property", inputs=lambda: _random_queries(3),
             judge=_mrr_judge,
             hint="Per query: the first position (from 1) holding a relevant document; 0 if none; then the "
                  "mean over all 40."),
    ),
)

EXERCISES = [TOP_K, MRR]
