# conf_settings.awk - prints the dotted name of every setting shown in a
# videoflix.conf (conf/videoflix.conf: set, or commented out as an example),
# one a line.  Used by tests/install/man_pages.sh to hold videoflix.conf(5)
# and the reference file together.  Items of lists ( ... ) are not settings.
function path(name,   i, p) {
    p = ""
    for (i = 1; i <= depth; i++) p = p group[i] "."
    return p name
}
{
    line = $0
    commented = sub(/^[ \t]*#[ \t]*/, "", line)
    if (!commented) sub(/#.*/, "", line)
}
# "name = {" opens a group; "name = (" a list, whose items are skipped.
!commented && line ~ /^[ \t]*[a-z_]+[ \t]*=[ \t]*\{/ {
    n = line; sub(/^[ \t]*/, "", n); sub(/[ \t]*=.*/, "", n)
    if (inlist == 0) { if (depth > 0) print path(n); group[++depth] = n }
    next
}
!commented && line ~ /^[ \t]*[a-z_]+[ \t]*=[ \t]*\(/ {
    n = line; sub(/^[ \t]*/, "", n); sub(/[ \t]*=.*/, "", n)
    if (inlist == 0 && depth > 0) print path(n)
    if (line !~ /\)[ \t]*;/) inlist = 1
    next
}
!commented && inlist && line ~ /^[ \t]*\)[ \t]*;/ { inlist = 0; next }
!commented && !inlist && line ~ /^[ \t]*\}[ \t]*;/ { depth--; next }
inlist || depth == 0 { next }
line ~ /^[a-z_]+[ \t]*=[ \t]*[^ \t]/ && (!commented || line ~ /;/) {
    n = line; sub(/[ \t]*=.*/, "", n); print path(n); next
}
line ~ /^[ \t]+[a-z_]+[ \t]*=[ \t]*[^ \t]/ && !commented {
    n = line; sub(/^[ \t]*/, "", n); sub(/[ \t]*=.*/, "", n); print path(n)
}
