"""One course, two languages: Korean labs, lecture notes and messages from the English source.

Design (issue 19).  The English notebooks in ``solutions/`` and notes in ``course/lectures/``
stay the single source.  Translations live beside them in *catalogs*, one YAML file per lab
or lecture and language, that pair each English unit with its translation and the digest of
the English it was made from:

* labs: ``solutions/i18n/ko/NN_name.yaml``, keyed by the notebook cell id (stable across
  edits; the authoring tools derive it from the grade id).  Markdown cells are translated
  whole; of the code, only the messages of the test cells (assertion messages, raised
  errors: :mod:`npulab.i18n.assertions`), so a Korean release's tests check exactly what the
  English ones check, and the autograder grades every submission from the English source
  (:mod:`npulab.i18n.notebooks`).  ``npulab release solutions labs`` writes ``labs/ko/``
  beside the English labs (``--lang ko`` alone writes only them).
* lecture notes: ``course/lectures/i18n/ko/NN_name.yaml``, keyed by the digest of each
  paragraph-sized block, so an edit to one English paragraph makes only that block stale;
  ``course/lectures/ko/NN_name.md`` is generated from it (:mod:`npulab.i18n.lectures`).
* student-facing messages (self-check, feedback pages, stubs, CLI help): one table,
  :mod:`npulab.i18n.messages`, read through ``t(msg_id, lang, **kw)``.

Why catalogs and not per-cell metadata: a translator edits one readable file per lab
without opening notebook JSON, diffs review well, and the instructor's solution notebooks
(which lab authors regenerate by script) are not touched by translation work.  Why a digest
of the English: a translation made from older English is detected (*stale*) mechanically,
by ``python -m npulab.i18n status`` (the work list) and by ``tests/test_i18n.py``.
"""
from npulab.i18n.messages import LANGS, resolve_lang, t  # standard library only (labkit imports it)

__all__ = ["LANGS", "resolve_lang", "t"]
