package webhook

import (
	"net/http"
	"time"
)

// Timeouts of NewServer, for whoever mounts the Handler elsewhere: a
// webhook endpoint faces the internet, so a slow client must not hold a
// connection (slowloris) and a body must arrive in bounded time.
const (
	// ReadHeaderTimeout bounds reading the request line and headers.
	ReadHeaderTimeout = 5 * time.Second
	// ReadTimeout bounds reading the whole request, body included.
	ReadTimeout = 30 * time.Second
	// WriteTimeout bounds the time from the end of the headers to the end
	// of the response.
	WriteTimeout = 30 * time.Second
	// IdleTimeout bounds a kept-alive connection waiting for its next request.
	IdleTimeout = 60 * time.Second
	// MaxHeaderBytes bounds the request headers.
	MaxHeaderBytes = 64 << 10
)

// NewServer returns an http.Server for h on addr with the timeouts above.
func NewServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: ReadHeaderTimeout,
		ReadTimeout:       ReadTimeout,
		WriteTimeout:      WriteTimeout,
		IdleTimeout:       IdleTimeout,
		MaxHeaderBytes:    MaxHeaderBytes,
	}
}
