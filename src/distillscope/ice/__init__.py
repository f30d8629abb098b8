"""Identity consistency evaluation (ICE): judges, claims extraction, scores and records.

Kept import-free on purpose: import the submodules you need (`distillscope.ice.judges`, ...).
"""
