#!/usr/bin/env python3
"""Re-derive the upstream contract lists (EPP plugin types and parameters, command-line
flags) from a fetched upstream checkout, to refresh or cross-check the data files under
modelservice_tool/contracts/.

It reads Go source with regular expressions (no Go toolchain needed): good enough for the
plain registration and flag-definition patterns these projects use, and it says which
entries it could not resolve. Not used by the tests.

    python scripts/contracts_from_source.py plugins --git-dir <mirror> --tag v0.10.0 \
        --file cmd/epp/runner/runner.go
    python scripts/contracts_from_source.py flags --git-dir <mirror> --tag v0.10.0 \
        --file pkg/epp/server/options.go --file pkg/common/observability/logging/options.go
    python scripts/contracts_from_source.py check --git-dir <mirror> --tag v0.10.0 \
        --file cmd/epp/runner/runner.go modelservice_tool/contracts/llm-d-router/v0.10.0/epp.yaml
    python scripts/contracts_from_source.py check-flags --git-dir <mirror> --tag v0.10.0 \
        --file pkg/sidecar/proxy/options.go \
        modelservice_tool/contracts/llm-d-router/v0.10.0/sidecar.yaml

`plugins` and `flags` print YAML; `check` compares a data file's plugin types and
parameter names, `check-flags` the flags (names and types) read from the given files, with
what the source says, and exit 1 on a difference.
For a plugin registered from another Go module (the legacy scheduler registers GIE's),
pass `--module <go module path>=<git dir>@<tag>`, and `--file <go module path>:<file>` for a
registration file of that module.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

FLAG_TYPES = {
    "Bool": "bool", "Int": "int", "Int64": "int", "Uint": "int", "Uint64": "int",
    "String": "string", "Duration": "duration", "Float64": "float",
    "StringSlice": "stringSlice", "IntSlice": "intSlice", "StringArray": "stringSlice",
    "": "value",
}
# Parameter structs from modules outside the mirrors (Kubernetes API types).
EXTERNAL_TYPES = {"metav1.LabelSelector": ("matchLabels", "matchExpressions"), "struct": ()}
FLAG_CALL = re.compile(
    r"\b(?:fs|flag|flagset|flagSet|commandLine|pflag)\.(Bool|Int64|Int|Uint64|Uint|String|Duration"
    r"|Float64|StringSlice|IntSlice|StringArray|)(?:Var)?(P?)\(\s*(?:&[\w.]+\s*,\s*)?"
    r"(\"[^\"]+\"|\w+)"
)
REGISTER = re.compile(
    r"\b\w+\.(Register\w*)\(\s*(\w+)\.(\w+)\s*,\s*(?:\w+\.(Stability\w+)\s*,\s*)?(\w+)\.(\w+)"
    r"(?:\s*,\s*(?:\w+\.\w+\s*,\s*)?(?:\"([^\"]+)\"\s*,\s*\"([^\"]+)\"\s*,\s*(\w+)\.(\w+))?)?"
)


@dataclass(frozen=True)
class Source:
    """One Go module at one tag in a git mirror."""

    git_dir: str
    tag: str
    module: str

    def show(self, path: str) -> str:
        return _git(self.git_dir, "show", f"{self.tag}:{path}")

    def package_files(self, directory: str) -> dict[str, str]:
        names = _git(self.git_dir, "ls-tree", "--name-only", f"{self.tag}:{directory}").split()
        return {
            path: _strip_comments(self.show(path))
            for path in (f"{directory}/{n}".lstrip("/") for n in names)
            if path.endswith(".go") and not path.endswith("_test.go")
        }


@cache
def _git(git_dir: str, *args: str) -> str:
    return subprocess.run(["git", f"--git-dir={git_dir}", *args], capture_output=True,
                          text=True, check=True).stdout


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    return re.sub(r"(?m)//.*$", "", text)


@dataclass
class Resolver:
    """Finds packages of import aliases across the main module and extra modules."""

    main: Source
    extra: list[Source] = field(default_factory=list)

    def locate(self, import_path: str) -> tuple[Source, str] | None:
        for source in [self.main, *self.extra]:
            if import_path == source.module or import_path.startswith(source.module + "/"):
                return source, import_path[len(source.module):].lstrip("/")
        return None

    def package(self, files: dict[str, str], alias: str) -> dict[str, str] | None:
        """Files of the package an alias names in any of `files`."""
        for text in files.values():
            path = self.imports(text).get(alias)
            located = self.locate(path) if path else None
            if located:
                return located[0].package_files(located[1])
        return None

    def imports(self, text: str) -> dict[str, str]:
        block = " ".join(re.findall(r"import\s*\((.*?)\)", text, flags=re.S))
        block += " " + " ".join(re.findall(r"^import\s+(\w*\s*\"[^\"]+\")", text, flags=re.M))
        found = {}
        for alias, path in re.findall(r"(?:(\w+)\s+)?\"([^\"]+)\"", block):
            found[alias or path.rsplit("/", 1)[-1]] = path
        return found


def _const(files: dict[str, str], name: str, resolver: Resolver | None = None) -> str | None:
    """A string constant's value; follows `Name = otherpkg.Name` through the imports."""
    for text in files.values():
        match = re.search(rf"(?m)^\s*(?:const\s+)?{name}(?:\s+[\w.]+)?\s*=\s*\"([^\"]*)\"", text)
        if match:
            return match.group(1)
    for text in files.values():
        match = re.search(rf"(?m)^\s*(?:const\s+)?{name}\s*=\s*(\w+)\.(\w+)\s*$", text)
        if match and resolver:
            other = resolver.package(files, match.group(1))
            if other:
                return _const(other, match.group(2), resolver)
    return None


def _func_body(files: dict[str, str], name: str) -> tuple[str, str] | None:
    for text in files.values():
        match = re.search(rf"(?m)^func {name}\((.*?)\)[^{{]*{{\n(.*?)^}}", text, flags=re.S)
        if match:
            return match.group(1), match.group(2)
    return None


def _top_level_lines(body: str) -> list[str]:
    """The lines of a struct body outside nested anonymous structs."""
    lines, depth = [], 0
    for line in body.splitlines():
        if depth == 0:
            lines.append(line)
        depth += line.count("{") - line.count("}")
    return lines


def _struct_fields(files: dict[str, str], type_name: str, seen: set[str],
                   resolver: Resolver | None = None) -> list[str] | None:
    if type_name in EXTERNAL_TYPES:
        return list(EXTERNAL_TYPES[type_name])
    if "." in type_name:
        alias, type_name = type_name.split(".", 1)
        other = resolver.package(files, alias) if resolver else None
        return _struct_fields(other, type_name, seen, resolver) if other else None
    if type_name in seen:
        return []
    seen.add(type_name)
    for text in files.values():
        match = re.search(rf"(?m)^(\s*)(?:type )?{type_name} struct {{\n(.*?)^\1}}", text,
                          flags=re.S)
        if not match:
            continue
        names: list[str] = []
        for line in _top_level_lines(match.group(2)):
            tag = re.search(r"json:\"([^\",]*)", line)
            stripped = line.strip()
            if tag and tag.group(1) and tag.group(1) != "-":
                names.append(tag.group(1))
            elif stripped and (not tag or tag.group(1) == ""):
                embedded = re.fullmatch(r"\*?((?:\w+\.)?\w+)(?:\s+`.*`)?", stripped)
                if embedded:
                    names += _struct_fields(files, embedded.group(1), seen, resolver) or []
        return names
    return None


def _var_type(files: dict[str, str], body: str, var: str) -> str | None:
    """The declared type of a local variable: `var v T`, `v := T{`, `v := pkgVar` or
    `v := newT()` (through the package variable's or function's declaration)."""
    found = (re.search(rf"\bvar {var}\s+\*?([\w.]+)", body)
             or re.search(rf"\b{var}\s*:?=\s*&?([\w.]+){{", body))
    if found:
        return found.group(1)
    source = re.search(rf"\b{var}\s*:=\s*(\w+)(\(\))?\s*$", body, flags=re.M)
    if not source:
        return None
    for text in files.values():
        if source.group(2):
            decl = re.search(rf"(?m)^func {source.group(1)}\(\)\s*\*?([\w.]+)", text)
        else:
            decl = (re.search(rf"(?m)^\s*(?:var\s+)?{source.group(1)}\s*=\s*&?([\w.]+){{", text)
                    or re.search(rf"(?m)^\s*(?:var\s+)?{source.group(1)}\s+\*?([\w.]+)", text))
        if decl:
            return decl.group(1)
    return None


def _decoded_types(files: dict[str, str], func: str, resolver: Resolver,
                   depth: int = 0) -> list[tuple[dict[str, str], str]] | None:
    """(package files, struct type) pairs the factory decodes its parameters into, following
    the functions it hands the raw parameters to ([] when it ignores them)."""
    if "." in func:
        alias, func = func.split(".", 1)
        other = resolver.package(files, alias)
        if other is None:
            return None
        files = other
    found = _func_body(files, func)
    if not found:
        return None
    signature, body = found
    if re.search(r"\b_\s+(?:\*json\.Decoder|json\.RawMessage)", signature):
        return []
    decoder = re.search(r"(\w+)\s+(?:\*json\.Decoder|json\.RawMessage)", signature)
    types: list[tuple[dict[str, str], str]] = []
    decoded = re.findall(r"\.Decode\(&?(\w+)\)", body)
    if decoder:
        decoded += re.findall(rf"json\.Unmarshal\(\s*{decoder.group(1)}\s*,\s*&?(\w+)\)", body)
    for var in decoded:
        declared = _var_type(files, body, var)
        if declared and not declared.endswith("RawMessage"):
            types.append((files, declared))
    if not decoder or depth > 2:
        return types or None
    resolved = bool(types)
    for callee in re.findall(rf"\b((?:\w+\.)?\w+)\([^()]*\b{decoder.group(1)}\b", body):
        if callee.split(".")[-1] in ("Decode", "Unmarshal", "NewDecoder"):
            continue
        nested = _decoded_types(files, callee, resolver, depth + 1)
        if nested is not None:
            resolved = True
            types += nested
    if resolved or not re.search(rf"\b{decoder.group(1)}\b", body):
        return types
    return None


def plugins(resolver: Resolver, registration_files: list[str]) -> dict[str, dict]:
    """Registered plugin types with parameter names, stability and deprecation."""
    result: dict[str, dict] = {}
    for path in registration_files:
        source = resolver.main
        if ":" in path:  # <module>:<path>, a registration file of another module
            module, path = path.split(":", 1)
            source = resolver.locate(module)[0]
        raw = source.show(path)
        aliases = resolver.imports(raw)
        for m in REGISTER.finditer(_strip_comments(raw)):
            how, type_pkg, type_const, stability, fac_pkg, factory = m.groups()[:6]
            located = resolver.locate(aliases.get(type_pkg, ""))
            fac_located = resolver.locate(aliases.get(fac_pkg, ""))
            if not located or not fac_located:
                continue
            type_files = located[0].package_files(located[1])
            type_name = _const(type_files, type_const, resolver)
            if type_name is None:
                print(f"unresolved type constant {type_pkg}.{type_const}", file=sys.stderr)
                continue
            fac_source, fac_dir = fac_located
            fac_files = fac_source.package_files(fac_dir)
            types = _decoded_types(fac_files, factory, resolver)
            params: list[str] | None = None
            if types is not None:
                params = []
                for files_of_type, t in types:
                    fields = _struct_fields(files_of_type, t, set(), resolver)
                    if fields is None:
                        params = None
                        break
                    params += [f for f in fields if f not in params]
            entry: dict = {"parameters": sorted(params) if params is not None else "UNRESOLVED",
                           "source": f"{fac_dir}@{fac_source.tag}"}
            if stability:
                entry["stability"] = stability.removeprefix("Stability").lower()
            if "Deprecated" in how and m.group(7):
                replacement = _const(located[0].package_files(located[1]), m.group(10) or "",
                                     resolver)
                entry["deprecated"] = {"since": m.group(7), "removal": m.group(8),
                                       "replacement": replacement}
            result[type_name] = entry
    return dict(sorted(result.items()))


def flags(source: Source, files: list[str]) -> dict[str, dict]:
    """Flags defined in the given files: name -> type."""
    result: dict[str, dict] = {}
    for path in files:
        directory = path.rsplit("/", 1)[0] if "/" in path else ""
        consts = source.package_files(directory)
        text = _strip_comments(source.show(path))
        for kind, _short, name in FLAG_CALL.findall(text):
            value = name.strip('"') if name.startswith('"') else _const(consts, name)
            if value:
                result[value] = {"type": FLAG_TYPES[kind], "source": f"{path}@{source.tag}"}
    return dict(sorted(result.items()))


def _module(git_dir: str, tag: str) -> str:
    gomod = _git(git_dir, "show", f"{tag}:go.mod")
    return re.search(r"(?m)^module\s+(\S+)", gomod).group(1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=["plugins", "flags", "check", "check-flags"])
    parser.add_argument("data", nargs="?", help="contract data file (check)")
    parser.add_argument("--git-dir", required=True)
    parser.add_argument("--tag", required=True)
    parser.add_argument("--file", action="append", required=True)
    parser.add_argument("--module", action="append", default=[],
                        help="<module>=<git dir>@<tag> for plugins of another module")
    # intermixed: the data file may follow the options, as in the usage above
    args = parser.parse_intermixed_args(argv)
    main_source = Source(args.git_dir, args.tag, _module(args.git_dir, args.tag))
    extra = []
    for spec in args.module:
        module, rest = spec.split("=", 1)
        git_dir, tag = rest.rsplit("@", 1)
        extra.append(Source(git_dir, tag, module))
    resolver = Resolver(main_source, extra)
    if args.what == "flags":
        print(yaml.safe_dump(flags(main_source, args.file), sort_keys=False), end="")
        return 0
    if args.what == "check-flags":
        derived_flags = flags(main_source, args.file)
        ours = {name: entry for name, entry in yaml.safe_load(Path(args.data).read_text())
                ["flags"].items()
                if any(f":{path}@{args.tag}" in entry["source"] for path in args.file)}
        problems = [f"missing flag {n}" for n in derived_flags if n not in ours]
        problems += [f"extra flag {n}" for n in ours if n not in derived_flags]
        problems += [f"{n}: type {ours[n]['type']} != source {e['type']}"
                     for n, e in derived_flags.items()
                     if n in ours and ours[n]["type"] != e["type"]]
        print("\n".join(problems) or "data matches the source")
        return 1 if problems else 0
    derived = plugins(resolver, args.file)
    if args.what == "plugins":
        print(yaml.safe_dump(derived, sort_keys=False), end="")
        return 0
    data = yaml.safe_load(Path(args.data).read_text())["plugins"]
    problems = [f"missing type {t}" for t in derived if t not in data]
    problems += [f"extra type {t}" for t in data if t not in derived]
    for name, entry in derived.items():
        have = data.get(name, {}).get("parameters")
        resolved = entry["parameters"] != "UNRESOLVED"
        if name in data and resolved and sorted(have) != entry["parameters"]:
            problems.append(f"{name}: parameters {have} != source {entry['parameters']}")
    print("\n".join(problems) or "data matches the source")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
