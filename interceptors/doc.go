// Package interceptors implements Flume 1.11's built-in interceptors:
// timestamp, host, static, remove_header, uuid, regex_filter,
// regex_extractor and search_replace, under Flume's short names and its
// Builder class names.
//
// Every interceptor is safe for concurrent use (a source may call its
// channel processor from several goroutines) and does its parsing and regex
// compilation when it is built, never per event.
//
// Flume's regexes are java.util.regex patterns; Go's regexp is RE2.
// javaregex.go translates the Java syntax RE2 can express and names the
// construct it cannot, so a Flume file either runs with Flume's meaning or
// fails `sluice check` with a clear message.
package interceptors

// javaRegexNotes is shared by every interceptor that takes a regex.
const javaRegexNotes = `
**Regular expressions.** Flume compiles these with java.util.regex; Sluice translates the
Java syntax to Go's RE2 engine at configuration time, so matching takes linear time and a
pattern can never hang the agent. What RE2 cannot express is refused with an error naming the
property and the construct: lookahead and lookbehind (` + "`(?=` `(?!` `(?<=` `(?<!`" + `),
backreferences (` + "`\\1`, `\\k<name>`" + `), possessive quantifiers (` + "`a*+`" + `), atomic groups
(` + "`(?>`" + `), ` + "`\\G`, `\\Z`, `\\X`" + `, character-class intersection (` + "`[a-z&&[^e]]`" + `), Unicode blocks
(` + "`\\p{InGreek}`" + `), the comments flag ` + "`(?x)`" + ` and ` + "`(?U)`" + `.
Translated with Java's meaning: ` + "`.`" + ` (which, as in Java, does not match ` + "`\\r`" + `, NEL, U+2028 or
U+2029 unless ` + "`(?s)` or `(?d)`" + ` is on), ` + "`\\s`" + ` (includes vertical tab), ` + "`\\h` `\\v` `\\R`" + `,
` + "`\\e` `\\cX` `\\0oct` `\\uXXXX`" + `, POSIX classes such as ` + "`\\p{Alpha}`" + `, Unicode categories and scripts
(` + "`\\p{Lu}` `\\p{IsGreek}`" + `), named groups ` + "`(?<name>…)`" + `, ` + "`\\Q…\\E`" + ` and nested class unions
(` + "`[a-c[x-z]]`" + `). Remaining differences, all at the edges: ` + "`$`" + ` without ` + "`(?m)`" + ` matches only at the very
end (Java also matches before a final line terminator); with ` + "`(?m)`" + ` lines end only at ` + "`\\n`" + `,
and ` + "`^`" + ` also matches at the very end after a final ` + "`\\n`" + ` (never in Java); ` + "`\\R`" + ` is not atomic;
` + "`(?i)`" + ` folds case for all of Unicode (Java folds ASCII only unless ` + "`(?u)`" + `); ` + "`\\b`" + ` treats only
ASCII letters and digits as word characters; ` + "`\\S`" + ` inside a class matches vertical tab; a
repeated group whose body can match the empty string (` + "`(a?)*`, `(?:.?|x)+`" + `) may stop or capture
differently, as Java's backtracker and RE2 treat empty iterations differently. Repeat counts
above 1000 (` + "`a{1001}`" + `) are refused by RE2.
`
