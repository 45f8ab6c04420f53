"""The sandbox's applets against BusyBox's own test suite.

Each case is a ``testing "name" "command" "expected" "input file" "stdin"`` line of BusyBox's
``testsuite/*.tests`` (grep, sed, cut, sort, uniq, seq and tr), run the way its
``testing.sh`` runs them: the file input is a file called ``input`` in the working directory,
the stdin is the command's standard input, and the expected result is the exact stdout.
Only cases for options the sandbox implements are taken (no ``sed`` branches or hold space,
no ``grep -r``/``-f``, no ``sort -h``/``-M``/``-z``).
"""

from __future__ import annotations

import pytest
from sandbox.images.shell_steps import drain_text

from kubelab.sandbox.images.shell import Input, Shell

ABC = ("one:two:three:four:five:six:seven\n"
       "alpha:beta:gamma:delta:epsilon:zeta:eta:theta:iota:kappa:lambda:mu\n"
       "the quick brown fox jumps over the lazy dog\n")
STAFF = ("406378:Sales:Itorre:Jan\n031762:Marketing:Nasium:Jim\n636496:Research:Ancholie:Mel\n"
         "396082:Sales:Jucacion:Ed\n")
SORT_DATA = ("42\t1\t3\twoot\n42\t1\t010\tzoology\negg\t1\t2\tpapyrus\n7\t3\t42\tsoup\n"
             "999\t3\t0\talgebra\n")
GLIBC = "GLIBC_2.21\nGLIBC_2.1.1\nGLIBC_2.2.1\nGLIBC_2.2\nGLIBC_2.20\nGLIBC_2.10\nGLIBC_2.1\n"
GLIBC_SORTED = ("GLIBC_2.1\nGLIBC_2.1.1\nGLIBC_2.2\nGLIBC_2.2.1\nGLIBC_2.10\nGLIBC_2.20\n"
                "GLIBC_2.21\n")

# (name, command, expected stdout, input file, stdin) as in testsuite/*.tests
CASES = [
    # testsuite/grep.tests
    ("grep (exit with error)", "grep nonexistent 2> /dev/null ; echo $?", "1\n", "", ""),
    ("grep (default to stdin)", "grep two", "two\n", "", "one\ntwo\nthree\nthree\nthree\n"),
    ("grep - (specify stdin)", "grep two -", "two\n", "", "one\ntwo\nthree\nthree\nthree\n"),
    ("grep input (specify file)", "grep two input", "two\n",
     "one\ntwo\nthree\nthree\nthree\n", ""),
    ("grep (no newline at EOL)", "grep bug input", "bug\n", "bug", ""),
    ("grep two files", ">empty; grep two input empty 2>/dev/null", "input:two\n",
     "one\ntwo\nthree\nthree\nthree\n", ""),
    ("grep - infile (specify stdin and file)", "grep two - input",
     "(standard input):two\ninput:two\n", "one\ntwo\nthree\n", "one\ntwo\ntoo\nthree\nthree\n"),
    ("grep - nofile (specify stdin and nonexisting file)",
     "grep two - nonexistent 2> /dev/null ; echo $?",
     "(standard input):two\n(standard input):two\n2\n", "",
     "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("grep -q - nofile (no match)", "grep -q nomatch - nonexistent 2> /dev/null ; echo $?",
     "2\n", "", "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("grep -q - nofile (match)", "grep -q two - nonexistent ; echo $?", "0\n", "",
     "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("grep -s nofile (nonexisting file, no match)", "grep -s nomatch nonexistent ; echo $?",
     "2\n", "", ""),
    ("grep -s nofile - (stdin and nonexisting file, match)",
     "grep -s domatch nonexistent - ; echo $?", "(standard input):domatch\n2\n", "",
     "nomatch\ndomatch\nend\n"),
    ("grep handles multiple regexps", "grep -e one -e two input ; echo $?", "one\ntwo\n0\n",
     "one\ntwo\n", ""),
    ("grep -F handles multiple expessions", "grep -F -e one -e two input ; echo $?",
     "one\ntwo\n0\n", "one\ntwo\n", ""),
    ("grep -F handles -i", "grep -F -i foo input ; echo $?", "FOO\n0\n", "FOO\n", ""),
    ("grep -x (full match)", "grep -x foo input ; echo $?", "foo\n0\n", "foo\n", ""),
    ("grep -x (partial match 1)", "grep -x foo input ; echo $?", "1\n", "foo bar\n", ""),
    ("grep -x (partial match 2)", "grep -x foo input ; echo $?", "1\n", "bar foo\n", ""),
    ("grep -x -F (full match)", "grep -x -F foo input ; echo $?", "foo\n0\n", "foo\n", ""),
    ("grep -E supports extended regexps", "grep -E fo+", "foo\n", "", "b\\ar\nfoo\nbaz"),
    ("grep is also egrep", "egrep foo", "foo\n", "", "foo\nbar\n"),
    ("egrep is not case insensitive", "egrep foo ; [ $? -ne 0 ] && echo yes", "yes\n", "",
     "FOO\n"),
    ("grep -E -o prints all matches",
     "grep -E -o '([[:xdigit:]]{2}[:-]){5}[[:xdigit:]]{2}'",
     "00:19:3E:00:AA:5E\n00:1D:60:3D:3A:FB\n00:22:43:49:FB:AA\n", "",
     "00:19:3E:00:AA:5E 00:1D:60:3D:3A:FB 00:22:43:49:FB:AA\n"),
    ("grep -o does not loop forever", 'grep -o "[^/]*$"', "test\n", "", "/var/test\n"),
    ("grep -o does not loop forever on zero-length match", 'grep -o "" | head -n1', "", "",
     "test\n"),
    ("grep -Fw matches only words", "grep -Fw foo input", "", "foop\n", ""),
    ("grep -Fw doesn't stop on 1st mismatch", "grep -Fw foo input", "foop foo\n",
     "foop foo\n", ""),
    ("grep -w doesn't stop on 1st mismatch", "grep -w foo input", "foop foo\n", "foop foo\n",
     ""),
    ("grep -w ^str doesn't match str not at the beginning", "grep -w ^str input", "",
     "strstr\n", ""),
    ("grep -w word doesn't match wordword", "grep -w word input", "", "wordword\n", ""),
    ("grep -F -w w doesn't match ww", "grep -F -w w input", "", "ww\n", ""),
    ("grep -w word match second word", "grep -w word input",
     "bword,word\nwordb,word\nbwordb,word\n", "bword,word\nwordb,word\nbwordb,word\n", ""),
    # testsuite/sed.tests
    ("sed no files (stdin)", 'sed ""', "hello\n", "", "hello\n"),
    ("sed explicit stdin", 'sed "" -', "hello\n", "", "hello\n"),
    ("sed handles empty lines", "sed -e 's/$/@/'", "@\n", "", "\n"),
    ("sed accepts blanks before command", "sed -e '1 d'", "", "", ""),
    ("sed -n", "sed -n -e s/foo/bar/ -e s/bar/baz/", "", "", "foo\n"),
    ("sed s//p", "sed -e s/foo/bar/p -e s/bar/baz/p", "bar\nbaz\nbaz\n", "", "foo\n"),
    ("sed -n s//p", "sed -ne s/abc/def/p", "def\n", "", "abc\n"),
    ("sed s arbitrary delimiter", "sed -e 's woo boing '", "boing\n", "", "woo\n"),
    ("sed s chains", "sed -e s/foo/bar/ -e s/bar/baz/", "baz\n", "", "foo\n"),
    ("sed s chains2", "sed -e s/foo/bar/ -e s/baz/nee/", "bar\n", "", "foo\n"),
    ("sed s with \\t (GNU ext)", "sed 's/\\t/ /'", "one two", "", "one\ttwo"),
    ("sed d ends script iteration", "sed -e '/ook/d;s/ook/ping/p;i woot'", "", "", "ook\n"),
    ("sed normal newlines", "sed -e 's/woo/bang/' input -", "bang\nbang\n", "woo\n", "woo\n"),
    ("sed leave off trailing newline", "sed -e 's/woo/bang/' input -", "bang\nbang", "woo\n",
     "woo"),
    ("sed autoinsert newline", "sed -e 's/woo/bang/' input -", "bang\nbang", "woo", "woo"),
    ("sed empty file plus cat", "sed -e 's/nohit//' input -", "one\ntwo", "", "one\ntwo"),
    ("sed cat plus empty file", "sed -e 's/nohit//' input -", "one\ntwo", "one\ntwo", ""),
    ("sed print autoinsert newlines", "sed -e 'p' -", "one\none", "", "one"),
    ("sed noprint, no match, no newline", "sed -ne 's/woo/bang/' input", "", "no\n", ""),
    ("sed match EOF", "sed -e '$p'", "hello\nthere\nthere", "", "hello\nthere"),
    ("sed d does not break n,m matching", "sed -n '1d;1,3p'", "second\nthird\n", "",
     "first\nsecond\nthird\nfourth\n"),
    ("sed d does not break n,regex matching", "sed -n '1d;1,/hir/p'", "second\nthird\n", "",
     "first\nsecond\nthird\nfourth\n"),
    ("sed d does not break n,regex matching #2", "sed -n '1,5d;1,/hir/p'",
     "second2\nthird2\n", "", "first\nsecond\nthird\nfourth\nfirst2\nsecond2\nthird2\nfourth2\n"),
    ("sed 2d;2,1p (gnu compat)", "sed -n '2d;2,1p'", "third\n", "",
     "first\nsecond\nthird\nfourth\n"),
    ("sed c", "sed 'crepl'", "repl\nrepl\n", "", "first\nsecond\n"),
    ("sed -i with address modifies all files, not only first",
     "cp input input2; sed -i -e '1s/foo/bar/' input input2 && cat input input2; rm input2",
     "bar\nbar\n", "foo\n", ""),
    ("sed s/xxx/[/", "sed -e 's/xxx/[/'", "[\n", "", "xxx\n"),
    # testsuite/cut.tests
    ("cut '-' (stdin) and multi file handling", "cut -d' ' -f2 - input", "over\nquick\n",
     "the quick brown fox\n", "jumps over the lazy dog\n"),
    ("cut -b a,a,a", "cut -b 3,3,3 input", "e\np\ne\n", ABC, ""),
    ("cut -b overlaps", "cut -b 1-3,2-5,7-9,9-10 input", "one:to:th\nalphabeta\nthe qick \n",
     ABC, ""),
    ("-b encapsulated", "cut -b 3-8,4-6 input", "e:two:\npha:be\ne quic\n", ABC, ""),
    ("cut high-low error", "cut -b 8-3 abc.txt 2>/dev/null || echo err", "err\n", ABC, ""),
    ("cut -c a-b", "cut -c 4-10 input", ":two:th\nha:beta\n quick \n", ABC, ""),
    ("cut -c a-", "cut -c 41- input", "\ntheta:iota:kappa:lambda:mu\ndog\n", ABC, ""),
    ("cut -c a", "cut -c 40 input", "\n:\n \n", ABC, ""),
    ("cut -c a,b-c,d", "cut -c 3,5-7,10 input", "etwoh\npa:ba\nequi \n", ABC, ""),
    ("cut -f a-", "cut -d ':' -f 5- input",
     "five:six:seven\nepsilon:zeta:eta:theta:iota:kappa:lambda:mu\n"
     "the quick brown fox jumps over the lazy dog\n", ABC, ""),
    ("cut show whole line with no delim", "cut -d ' ' -f 3 input",
     "one:two:three:four:five:six:seven\n"
     "alpha:beta:gamma:delta:epsilon:zeta:eta:theta:iota:kappa:lambda:mu\nbrown\n", ABC, ""),
    ("cut with echo, -c (a-b)", "echo 'ref_categorie=test' | cut -c 1-15 ",
     "ref_categorie=t\n", "", ""),
    ("cut with echo, -c (a)", "echo 'ref_categorie=test' | cut -c 14", "=\n", "", ""),
    ("cut with -c (a,b,c)", "cut -c 4,5,20 input", "det\n", "abcdefghijklmnopqrstuvwxyz", ""),
    ("cut with -d -f(:) -s", "cut -d: -f3 -s input", "Itorre\nNasium\nAncholie\nJucacion\n",
     STAFF, ""),
    ("cut with -d -f( ) -s", "cut -d' ' -f3 -s input && echo yes", "yes\n", STAFF, ""),
    ("cut with -d -f(a) -s", "cut -da -f3 -s input", "n\nsium:Jim\n\ncion:Ed\n", STAFF, ""),
    ("cut empty field", "cut -d ':' -f 1-3", "a::b\n", "", "a::b\n"),
    ("cut empty field 2", "cut -d ':' -f 3-5", "b::c\n", "", "a::b::c:d\n"),
    # testsuite/sort.tests
    ("sort", "sort input", "a\nb\nc\n", "c\na\nb\n", ""),
    ("sort #2", "sort input", "010\n1\n3\n", "3\n1\n010\n", ""),
    ("sort stdin", "sort", "a\nb\nc\n", "", "b\na\nc\n"),
    ("sort numeric", "sort -n input", "1\n3\n010\n", "3\n1\n010\n", ""),
    ("sort reverse", "sort -r input", "wook\nwalrus\npoint\npabst\naargh\n",
     "point\nwook\npabst\naargh\nwalrus\n", ""),
    ("sort one key", "sort -k4,4 input",
     "999\t3\t0\talgebra\negg\t1\t2\tpapyrus\n7\t3\t42\tsoup\n42\t1\t3\twoot\n"
     "42\t1\t010\tzoology\n", SORT_DATA, ""),
    ("sort key range with numeric option", "sort -k2,3n input",
     "42\t1\t010\tzoology\n42\t1\t3\twoot\negg\t1\t2\tpapyrus\n7\t3\t42\tsoup\n"
     "999\t3\t0\talgebra\n", SORT_DATA, ""),
    ("sort key range with numeric option and global reverse", "sort -k2,3n -r input",
     "egg\t1\t2\tpapyrus\n42\t1\t3\twoot\n42\t1\t010\tzoology\n999\t3\t0\talgebra\n"
     "7\t3\t42\tsoup\n", SORT_DATA, ""),
    ("sort key range with multiple options", "sort -k2,3rn input",
     "7\t3\t42\tsoup\n999\t3\t0\talgebra\n42\t1\t010\tzoology\n42\t1\t3\twoot\n"
     "egg\t1\t2\tpapyrus\n", SORT_DATA, ""),
    ("sort key range with two -k options", "sort -k 2,2n -k 1,1r input", "d 2\nb 2\nc 3\n",
     "c 3\nb 2\nd 2\n", ""),
    ("sort with non-default leading delim 1", "sort -n -k2 -t/ input", "/a/2\n/b/1\n",
     "/a/2\n/b/1\n", ""),
    ("sort with non-default leading delim 2", "sort -n -k3 -t/ input", "/b/1\n/a/2\n",
     "/b/1\n/a/2\n", ""),
    ("sort with non-default leading delim 4", "sort -t: -k1,1 input", "a:b\na/a:a\n",
     "a/a:a\na:b\n", ""),
    ("glibc build sort", "sort -t. -k 1,1 -k 2n,2n -k 3 input", GLIBC_SORTED, GLIBC, ""),
    ("glibc build sort unique", "sort -u -t. -k 1,1 -k 2n,2n -k 3 input", GLIBC_SORTED,
     GLIBC, ""),
    ("sort -u should consider field only when discarding", "sort -u -k2 input", "a c\n",
     "a c\nb c\n", ""),
    ("sort key doesn't strip leading blanks, disables fallback global sort",
     "sort -n -k2 -t ' '", " a \n 1 \n 2 \n", "", " 2 \n 1 \n a \n"),
    ("sort file in place", "sort -o input input && cat input", "111\n222\n", "222\n111\n", ""),
    ("sort -sr (stable and reverse) does NOT reverse 'stable' ordering", "sort -k2 -r -s input",
     "b 2\nd 2\na 1\nc 1\n", "a 1\nb 2\nc 1\nd 2\n", ""),
    # testsuite/uniq.tests
    ("uniq (default to stdin)", "uniq", "one\ntwo\nthree\n", "",
     "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("uniq - (specify stdin)", "uniq -", "one\ntwo\nthree\n", "",
     "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("uniq input (specify file)", "uniq input", "one\ntwo\nthree\n",
     "one\ntwo\ntwo\nthree\nthree\nthree\n", ""),
    ("uniq -d", "uniq -d", "two\nthree\n", "", "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    ("uniq -c", "uniq -c", "      1 one\n      2 two\n      3 three\n", "",
     "one\ntwo\ntwo\nthree\nthree\nthree\n"),
    # testsuite/seq.tests
    ("seq (exit with error)", "seq 2> /dev/null || echo yes", "yes\n", "", ""),
    ("seq (exit with error) #2", "seq 1 2 3 4 2> /dev/null || echo yes", "yes\n", "", ""),
    ("seq one argument", "seq 3", "1\n2\n3\n", "", ""),
    ("seq two arguments", "seq 5 7", "5\n6\n7\n", "", ""),
    ("seq two arguments reversed", "seq 7 5", "", "", ""),
    ("seq two arguments equal", "seq 3 3", "3\n", "", ""),
    ("seq count up by 2", "seq 4 2 8", "4\n6\n8\n", "", ""),
    ("seq count down by 2", "seq 8 -2 4", "8\n6\n4\n", "", ""),
    ("seq count wrong way #1", "seq 4 -2 8", "", "", ""),
    ("seq count wrong way #2", "seq 8 2 4", "", "", ""),
    ("seq count by .3", "seq 3 .3 4", "3\n3.3\n3.6\n3.9\n", "", ""),
    ("seq count by -.9", "seq .7 -.9 -2.2", "0.7\n-0.2\n-1.1\n-2\n", "", ""),
    ("seq count by zero", "seq 4 0 8 | head -n 10", "", "", ""),
    # testsuite/tr.tests
    ("tr does not treat [] in [a-z] as special", "tr '[q-z]' '_Q-Z+'", "_QWe+", "", "[qwe]"),
    ("tr understands 0-9A-F", "tr -cd '[0-9A-F]'", "19AF", "", "19AFH\n"),
    ("tr understands [:xdigit:]", "tr -cd '[:xdigit:]'", "19AF", "", "19AFH\n"),
    ("tr does not stop after [:digit:]", "tr '[:digit:]y-z' 111111111123", "111abcx23\n", "",
     "789abcxyz\n"),
    ("tr has correct xdigit sequence", "tr '[:xdigit:]Gg' 1111111151242222333330xX",
     "#1111111151242222x333330X\n", "", "#0123456789ABCDEFGabcdefg\n"),
]


def run_case(command: str, infile: str, stdin: str) -> tuple[str, str, int]:
    shell = Shell({"PWD": "/testsuite"}, {"/testsuite/input": infile})
    return drain_text(shell.run_script(command, Input(stdin)))


@pytest.mark.parametrize(("name", "command", "expected", "infile", "stdin"), CASES,
                         ids=[case[0] for case in CASES])
def test_busybox_testsuite(name: str, command: str, expected: str, infile: str,
                           stdin: str) -> None:
    out, err, _ = run_case(command, infile, stdin)
    assert out == expected, err
