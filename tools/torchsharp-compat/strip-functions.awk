# Takes top-level function definitions out of a C++ source file: awk -v names=a,b,c -f strip-functions.awk unit.cpp
# A definition starts on a line at column 0 that names the function before its '(' (a return type may come first;
# a declaration, ending in ';' before any '{', is kept) and ends where its braces balance again. Braces in string
# and character literals and in // comments are not counted. Prints the rest of the file; on stderr, one line per
# name found, "stripped NAME"; every line taken out becomes an empty one; exits 1 when a name is found other than once.
BEGIN {
    n = split(names, list, ",")
    for (i = 1; i <= n; i++) { wanted[list[i]] = 1; found[list[i]] = 0 }
    skipping = 0; depth = 0; opened = 0
}
function code_of(line,    s) {
    s = line
    gsub(/\\./, "", s)                      # escaped characters
    gsub(/"[^"]*"/, "\"\"", s)              # string literals
    gsub(/'[^']*'/, "''", s)                # character literals
    sub(/\/\/.*/, "", s)                    # line comments
    return s
}
function braces(s, ch,    t) { t = s; return gsub(ch, "", t) }
{
    if (!skipping && $0 ~ /^[A-Za-z_]/) {
        for (name in wanted) {
            pattern = "(^|[^A-Za-z0-9_:])" name "[ \t]*\\("
            gsub(/\./, "\\.", pattern)
            if ($0 ~ pattern) {
                code = code_of($0)
                if (code ~ /;[ \t]*$/ && code !~ /\{/) continue   # a declaration
                skipping = 1; depth = 0; opened = 0; current = name
                break
            }
        }
    }
    if (skipping) {
        code = code_of($0)
        depth += braces(code, "{") - braces(code, "}")
        if (braces(code, "{") > 0) opened = 1
        if (opened && depth <= 0) { skipping = 0; found[current]++; print "stripped " current > "/dev/stderr" }
        print ""                            # an empty line in its place: the compiler's line numbers stay the file's
        next
    }
    print
}
END {
    status = 0
    for (name in wanted) {
        if (found[name] != 1) { print "strip-functions: " name " was found " found[name] " times (expected once)" > "/dev/stderr"; status = 1 }
    }
    if (skipping) { print "strip-functions: the definition of " current " never closed" > "/dev/stderr"; status = 1 }
    exit status
}
