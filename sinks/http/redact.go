package http

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
)

// An endpoint may carry secrets: a password in its user info (Go's client
// sends it as basic authentication) or an API token in its query. Logs,
// errors, /health and `sluice check` show the URL without them.

var userInfo = regexp.MustCompile(`//[^/?#]*@`)

// shownURL is the endpoint with its password and every query value
// replaced by xxxxx.
func shownURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		// Not a URL: cut what could be user info or a query anyway.
		s, _, hadQuery := strings.Cut(raw, "?")
		s = userInfo.ReplaceAllString(s, "//xxxxx@")
		if hadQuery {
			s += "?xxxxx"
		}
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			u.RawQuery = "xxxxx"
		} else {
			for k := range q {
				q[k] = []string{"xxxxx"}
			}
			u.RawQuery = q.Encode()
		}
	}
	return u.String()
}

// hideURL puts shown in place of the URL a net/url or net/http error
// quotes (which keeps the query, and for a parse error the password).
func hideURL(err error, shown string) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		c := *ue
		c.URL = shown
		if strings.HasPrefix(c.Op, "parse") {
			// The parse error's cause may quote the text too.
			return errors.New(c.Op + " " + shown + ": invalid URL")
		}
		return &c
	}
	return err
}
