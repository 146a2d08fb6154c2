"""Guidelines rule engine: versioned rule packs and a fast check that explains violations.

Pure Python, no I/O beyond reading pack files: the guidelines service compiles a brand's
guideline once per version (``compile_guideline``), caches it, and calls ``check``.
"""

from .compiler import MAX_TEXT_BYTES, CompiledGuideline, compile_guideline
from .errors import GuidelineEngineError, RuleLoadError, TextTooLongError
from .loader import (
    DEFAULT_PACK_IDS,
    dump_pack_yaml,
    export_guideline_yaml,
    load_default_packs,
    load_guideline_yaml,
    load_pack,
)
from .models import (
    GUIDELINE_EXAMPLE,
    Blocker,
    CheckContext,
    CheckResult,
    Competitor,
    GuidelineConfig,
    PublishPolicy,
    Rule,
    RuleExample,
    RuleExamples,
    RuleOverride,
    RulePack,
    Span,
    TermEntry,
    Violation,
)
from .vale_import import import_vale_style

__all__ = [
    "DEFAULT_PACK_IDS",
    "MAX_TEXT_BYTES",
    "Blocker",
    "CheckContext",
    "CheckResult",
    "CompiledGuideline",
    "Competitor",
    "GUIDELINE_EXAMPLE",
    "GuidelineConfig",
    "GuidelineEngineError",
    "Rule",
    "RuleExample",
    "RuleExamples",
    "RuleLoadError",
    "PublishPolicy",
    "RuleOverride",
    "RulePack",
    "Span",
    "TermEntry",
    "TextTooLongError",
    "Violation",
    "compile_guideline",
    "dump_pack_yaml",
    "export_guideline_yaml",
    "import_vale_style",
    "load_default_packs",
    "load_guideline_yaml",
    "load_pack",
]
