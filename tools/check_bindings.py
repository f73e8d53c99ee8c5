#!/usr/bin/python3
"""Checks that the public headers of cv::patchcore suit OpenCV's binding generators.

Two checks:
1. Always: a lint of every CV_WRAP / CV_EXPORTS_W declaration, rejecting argument and property types that
   OpenCV's Python generator cannot convert (raw pointers, std::function, references to non-const scalars without
   CV_OUT, ...). This is a conservative approximation written for this project, not OpenCV's parser.
2. When an OpenCV source tree is given (--opencv-src DIR or $OPENCV_SRC): OpenCV's own header parser,
   DIR/modules/python/src2/hdr_parser.py, parses each header in wrap mode, and the declarations the Python module
   must expose are looked for in its output. Debian ships no hdr_parser.py, so without a source tree this part is
   reported as not run.

Usage: /usr/bin/python3 tools/check_bindings.py [--opencv-src DIR]     exit status 0 = no problem found
"""
import argparse
import glob
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
INCLUDE = os.path.join(HERE, "..", "modules", "patchcore", "include")

# Types the Python generator converts (with or without const &), as they appear after removing cv:: and std::.
CONVERTIBLE = {
    "void", "bool", "int", "double", "float", "size_t", "String", "string", "Mat", "Scalar", "Size", "Point",
    "Rect", "InputArray", "OutputArray", "InputOutputArray", "InputArrayOfArrays", "OutputArrayOfArrays",
    "vector<double>", "vector<int>", "vector<String>", "vector<Mat>", "Params", "Ptr<Detector>", "Ptr<Ensemble>", "Ptr<Inspector>",
    "F1Threshold", "FileNode", "FileStorage", "Point2d", "DecisionRule", "Region", "vector<Region>",
}
# Declarations the Python module must expose, as hdr_parser names them.
EXPECTED = [
    "class cv.patchcore.Detector", "struct cv.patchcore.Params", "class cv.patchcore.Ensemble",
    "class cv.patchcore.Inspector", "cv.patchcore.Inspector.load",
    "cv.patchcore.Detector.create", "cv.patchcore.Detector.load", "cv.patchcore.Detector.predict",
    "cv.patchcore.Detector.detect", "cv.patchcore.Ensemble.create", "cv.patchcore.Ensemble.predict",
    "cv.patchcore.imageAUROC", "cv.patchcore.computePRO",
]


def declarations(text):
    """Yields (line, declaration) for every statement that carries a binding marker, comments removed."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    for m in re.finditer(r"[^;{}]*\b(CV_WRAP|CV_PROP_RW|CV_EXPORTS_W)\b[^;{]*", text):
        start = m.start() + len(m.group(0)) - len(m.group(0).lstrip())
        yield text.count("\n", 0, start) + 1, " ".join(m.group(0).split())


def normalise(t):
    t = re.sub(r"\b(const|CV_OUT|CV_IN_OUT|cv::|std::)\b", "", t.replace("cv::", "").replace("std::", ""))
    return re.sub(r"\s+", "", t).rstrip("&")


def lint(path):
    problems = []
    for line, decl in declarations(open(path).read()):
        where = f"{os.path.relpath(path)}:{line}"
        if decl.startswith(("class", "struct")) or " class " in decl or " struct " in decl:
            continue
        if "CV_PROP_RW" in decl:
            ptype = normalise(decl.split("CV_PROP_RW", 1)[1].rsplit(" ", 1)[0])
            if ptype not in CONVERTIBLE:
                problems.append(f"{where}: property type '{ptype}' is not convertible: {decl}")
            continue
        if "(" not in decl:
            continue
        start, depth = decl.index("("), 0
        for end in range(start, len(decl)):  # the matching ')', not a later one of an initializer list
            depth += {"(": 1, ")": -1}.get(decl[end], 0)
            if depth == 0:
                break
        args = decl[start + 1:end]
        depth, parts, cur = 0, [], ""
        for ch in args:  # split on top-level commas only (templates, default-value calls)
            depth += ch in "<(" and 1 or 0
            depth -= ch in ">)" and 1 or 0
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
            else:
                cur += ch
        parts += [cur] if cur.strip() else []
        for a in parts:
            a = a.split("=")[0].strip()
            if not a:
                continue
            atype = normalise(a.rsplit(" ", 1)[0] if " " in a else a)
            if "*" in atype or "function" in atype or atype not in CONVERTIBLE:
                problems.append(f"{where}: argument '{a}' has a type the Python generator cannot convert")
            elif a.rsplit(" ", 1)[0].rstrip().endswith("&") and "const" not in a and "CV_OUT" not in a \
                    and "CV_IN_OUT" not in a and not atype.endswith("Array") and not atype.endswith("Arrays"):
                problems.append(f"{where}: non-const reference '{a}' needs CV_OUT or CV_IN_OUT")
    return problems


def run_hdr_parser(src, headers):
    sys.path.insert(0, os.path.join(src, "modules", "python", "src2"))
    import hdr_parser  # noqa: E402  (OpenCV's own, from the given source tree)
    parser = hdr_parser.CppHeaderParser(generate_umat_decls=False, generate_gpumat_decls=False)
    names = []
    for h in headers:
        for d in parser.parse(h, wmode=True):
            names.append(d[0])
    return [e for e in EXPECTED if e not in names], names


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--opencv-src", default=os.environ.get("OPENCV_SRC"), help="an OpenCV source tree (4.x)")
    args = ap.parse_args()
    headers = sorted(glob.glob(os.path.join(INCLUDE, "opencv2", "*.hpp")) +
                     glob.glob(os.path.join(INCLUDE, "opencv2", "patchcore", "*.hpp")))
    problems = [p for h in headers for p in lint(h)]
    for p in problems:
        print("check_bindings:", p)
    print(f"check_bindings: lint of {len(headers)} headers: {len(problems)} problem(s)")

    parser_path = args.opencv_src and os.path.join(args.opencv_src, "modules", "python", "src2", "hdr_parser.py")
    if not parser_path or not os.path.exists(parser_path):
        print("check_bindings: OpenCV's hdr_parser.py NOT run (no OpenCV source tree; pass --opencv-src)")
    else:
        missing, names = run_hdr_parser(args.opencv_src, headers)
        print(f"check_bindings: hdr_parser found {len(names)} declarations; missing: {missing or 'none'}")
        problems += missing
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
