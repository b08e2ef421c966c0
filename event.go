package sluice

// Event is the unit of data: a set of string headers and an opaque body.
// Events travel as []*Event batches; a component that changes an event it
// did not create must only do so before it hands the batch on.
type Event struct {
	Headers map[string]string
	Body    []byte
}

// NewEvent returns an event with the given body and an empty, non-nil header map.
func NewEvent(body []byte) *Event {
	return &Event{Headers: map[string]string{}, Body: body}
}

// SetHeader sets a header, allocating the map on first use.
func (e *Event) SetHeader(k, v string) {
	if e.Headers == nil {
		e.Headers = make(map[string]string, 4)
	}
	e.Headers[k] = v
}

// Clone returns a deep copy of the event.
func (e *Event) Clone() *Event {
	c := &Event{Body: append([]byte(nil), e.Body...)}
	if e.Headers != nil {
		c.Headers = make(map[string]string, len(e.Headers))
		for k, v := range e.Headers {
			c.Headers[k] = v
		}
	}
	return c
}
