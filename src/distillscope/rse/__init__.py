"""Response similarity evaluation: LLM judge, judge-free metrics, attribution and calibrated verdicts."""
