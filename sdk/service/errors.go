package service

import (
	"errors"
	"fmt"
	"net/http"
)

// Error is an error with an HTTP status and a message that is safe to show
// the caller. Return one from a service to answer with that status and
// {"result": "Error", "cid": …, "details": Message}. Any other error answers
// 500 with a generic message, and its text goes only to the log.
type Error struct {
	// Status is the HTTP status code.
	Status int
	// Message is shown to the caller in the envelope's details.
	Message string
	// Header holds extra response headers, such as WWW-Authenticate or
	// Retry-After.
	Header http.Header
	// Cause is logged, never shown to the caller.
	Cause error
}

func (e *Error) Error() string {
	if e.Cause != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Message, e.Cause)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Message)
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Cause }

// WithHeader returns e with a response header set.
func (e *Error) WithHeader(name, value string) *Error {
	if e.Header == nil {
		e.Header = http.Header{}
	}
	e.Header.Set(name, value)
	return e
}

// NewError returns an Error with a status and a message formatted as by
// fmt.Sprintf. An empty message becomes the status text.
func NewError(status int, format string, args ...any) *Error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	return &Error{Status: status, Message: msg}
}

// BadRequest answers 400.
func BadRequest(format string, args ...any) *Error {
	return NewError(http.StatusBadRequest, format, args...)
}

// ElementMissing answers 400 with "Element missing: <name>".
func ElementMissing(name string) *Error {
	return NewError(http.StatusBadRequest, "Element missing: %s", name)
}

// Unauthorized answers 401. Set WWW-Authenticate with WithHeader.
func Unauthorized(format string, args ...any) *Error {
	return NewError(http.StatusUnauthorized, format, args...)
}

// Forbidden answers 403.
func Forbidden(format string, args ...any) *Error {
	return NewError(http.StatusForbidden, format, args...)
}

// NotFound answers 404.
func NotFound(format string, args ...any) *Error {
	return NewError(http.StatusNotFound, format, args...)
}

// Conflict answers 409.
func Conflict(format string, args ...any) *Error {
	return NewError(http.StatusConflict, format, args...)
}

// TooManyRequests answers 429.
func TooManyRequests(format string, args ...any) *Error {
	return NewError(http.StatusTooManyRequests, format, args...)
}

// ServiceUnavailable answers 503.
func ServiceUnavailable(format string, args ...any) *Error {
	return NewError(http.StatusServiceUnavailable, format, args...)
}

// StatusOf returns the HTTP status an error answers the caller with: the
// Status of an *Error in its chain, else 500.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return http.StatusInternalServerError
}
