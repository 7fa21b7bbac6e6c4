#!/usr/bin/env python3
"""Write a tool's man page (roff) from its --help text, so that the page and
the program never disagree:  help2man.py TOOL_EXE NAME SUMMARY VERSION OUT
The first "usage:" lines become the SYNOPSIS, the rest the DESCRIPTION,
as the program prints it."""
import subprocess
import sys


def roff(line):
    line = line.replace("\\", "\\e")
    if line.startswith((".", "'")):
        line = "\\&" + line
    return line.replace("-", "\\-")


def main():
    exe, name, summary, version, out = sys.argv[1:6]
    text = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True).stdout
    lines = text.rstrip("\n").split("\n")
    synopsis = []
    while lines and (lines[0].startswith("usage:") or (synopsis and lines[0].startswith(" "))):
        synopsis.append(lines.pop(0).replace("usage: ", "", 1).strip())
    while lines and not lines[0].strip():
        lines.pop(0)
    page = [f'.TH {name.upper()} 1 "" "ingestkit {version}" "User Commands"',
            ".SH NAME", f"{roff(name)} \\- {roff(summary)}", ".SH SYNOPSIS", ".nf"]
    page += [roff(s) for s in synopsis]
    page += [".fi", ".SH DESCRIPTION", ".nf"]
    page += [roff(s) for s in lines]
    page += [".fi", ".SH SEE ALSO",
             f"The guides in the ingestkit sources (docs/). {roff(name)} \\-\\-help prints this text."]
    with open(out, "w") as f:
        f.write("\n".join(page) + "\n")


if __name__ == "__main__":
    main()
