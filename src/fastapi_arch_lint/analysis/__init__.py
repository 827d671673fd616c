"""What rules of any category derive from the linked model, computed once per model.

Pure functions of an ``AppModel`` (no LibCST, no extractor): the rules import them, the
model never does. ``memo`` shares derived data between rules; ``index`` looks models,
tables and routes up; ``calls`` walks every call of the project with its target;
``values`` asks the linker's answers about constant values; ``names`` and ``libraries``
hold the name heuristics (secrets, passwords) and what well-known library calls are;
``taint`` follows request data through route handlers and the functions they call.
"""
