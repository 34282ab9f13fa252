// Command tacacs-test-server is an independent TACACS+ (RFC 8907) peer for netbox-gate's
// integration tests, built on facebookincubator/tacquito's server side; never for production.
//
// Usage: tacacs-test-server CONFIG.json   (prints "listening <addr>" once it accepts connections)
package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net"
	"os"
	"os/signal"
	"syscall"

	tq "github.com/facebookincubator/tacquito"
)

// User is one account: its password, and what authorization answers for it.
type User struct {
	Password string `json:"password"`
	// Author is the authorization reply: "pass_add" (default), "pass_repl", "fail" or "error".
	Author string   `json:"author"`
	Args   []string `json:"args"`
}

// Config is the JSON file given on the command line.
type Config struct {
	Listen  string          `json:"listen"` // default 127.0.0.1:0
	Secret  string          `json:"secret"`
	ASCII   bool            `json:"ascii"`   // accept ASCII login besides PAP
	AskUser bool            `json:"askUser"` // ASCII: ignore the user in START and send GETUSER first
	Users   map[string]User `json:"users"`
}

type logger struct{ debug bool }

func (l logger) Infof(_ context.Context, f string, a ...any)  { log.Printf("info: "+f, a...) }
func (l logger) Errorf(_ context.Context, f string, a ...any) { log.Printf("error: "+f, a...) }
func (l logger) Debugf(_ context.Context, f string, a ...any) {
	if l.debug {
		log.Printf("debug: "+f, a...)
	}
}
func (l logger) Record(context.Context, map[string]string, ...string) {}

type secrets struct {
	secret  []byte
	handler tq.Handler
}

func (s secrets) Get(context.Context, net.Addr) ([]byte, tq.Handler, error) {
	return s.secret, s.handler, nil
}

type server struct{ cfg Config }

func authenReply(status tq.AuthenStatus, msg string, noEcho bool) *tq.AuthenReply {
	opts := []tq.AuthenReplyOption{tq.SetAuthenReplyStatus(status), tq.SetAuthenReplyServerMsg(msg)}
	if noEcho {
		opts = append(opts, tq.SetAuthenReplyFlag(tq.AuthenReplyFlagNoEcho))
	}
	return tq.NewAuthenReply(opts...)
}

func (s *server) check(user, password string) *tq.AuthenReply {
	u, ok := s.cfg.Users[user]
	if !ok || u.Password != password {
		return authenReply(tq.AuthenStatusFail, "authentication failed", false)
	}
	return authenReply(tq.AuthenStatusPass, "welcome", false)
}

func (s *server) Handle(resp tq.Response, req tq.Request) {
	switch req.Header.Type {
	case tq.Authenticate:
		var start tq.AuthenStart
		if err := tq.Unmarshal(req.Body, &start); err != nil {
			resp.Reply(authenReply(tq.AuthenStatusError, "bad start: "+err.Error(), false))
			return
		}
		switch start.Type {
		case tq.AuthenTypePAP:
			resp.Reply(s.check(string(start.User), string(start.Data)))
		case tq.AuthenTypeASCII:
			if !s.cfg.ASCII {
				resp.Reply(authenReply(tq.AuthenStatusFail, "ascii login not enabled", false))
				return
			}
			user := string(start.User)
			if user == "" || s.cfg.AskUser {
				resp.Next(tq.HandlerFunc(func(resp tq.Response, req tq.Request) { s.getUser(resp, req) }))
				resp.Reply(authenReply(tq.AuthenStatusGetUser, "Username: ", false))
				return
			}
			s.askPass(resp, user)
		default:
			resp.Reply(authenReply(tq.AuthenStatusFail, "unsupported authen_type", false))
		}
	case tq.Authorize:
		var r tq.AuthorRequest
		if err := tq.Unmarshal(req.Body, &r); err != nil {
			resp.Reply(tq.NewAuthorReply(tq.SetAuthorReplyStatus(tq.AuthorStatusError), tq.SetAuthorReplyServerMsg("bad request")))
			return
		}
		log.Printf("info: authorization request user=%q service args=%v", r.User, r.Args)
		u, ok := s.cfg.Users[string(r.User)]
		if !ok {
			resp.Reply(tq.NewAuthorReply(tq.SetAuthorReplyStatus(tq.AuthorStatusFail), tq.SetAuthorReplyServerMsg("unknown user")))
			return
		}
		status := map[string]tq.AuthorStatus{
			"": tq.AuthorStatusPassAdd, "pass_add": tq.AuthorStatusPassAdd, "pass_repl": tq.AuthorStatusPassRepl,
			"fail": tq.AuthorStatusFail, "error": tq.AuthorStatusError,
		}[u.Author]
		if status == 0 {
			status = tq.AuthorStatusError
		}
		opts := []tq.AuthorReplyOption{tq.SetAuthorReplyStatus(status)}
		if status == tq.AuthorStatusPassAdd || status == tq.AuthorStatusPassRepl {
			opts = append(opts, tq.SetAuthorReplyArgs(u.Args...))
		} else {
			opts = append(opts, tq.SetAuthorReplyServerMsg("not authorized for this service"))
		}
		resp.Reply(tq.NewAuthorReply(opts...))
	default:
		// Accounting is not used by the gateway; refuse it so a test would notice.
		resp.Reply(tq.NewAcctReply(tq.SetAcctReplyStatus(tq.AcctReplyStatusError)))
	}
}

func (s *server) getUser(resp tq.Response, req tq.Request) {
	var c tq.AuthenContinue
	if err := tq.Unmarshal(req.Body, &c); err != nil || c.Flags == tq.AuthenContinueFlagAbort {
		resp.Reply(authenReply(tq.AuthenStatusError, "expected CONTINUE with the user name", false))
		return
	}
	s.askPass(resp, string(c.UserMessage))
}

func (s *server) askPass(resp tq.Response, user string) {
	resp.Next(tq.HandlerFunc(func(resp tq.Response, req tq.Request) {
		var c tq.AuthenContinue
		if err := tq.Unmarshal(req.Body, &c); err != nil || c.Flags == tq.AuthenContinueFlagAbort {
			resp.Reply(authenReply(tq.AuthenStatusError, "expected CONTINUE with the password", false))
			return
		}
		resp.Reply(s.check(user, string(c.UserMessage)))
	}))
	resp.Reply(authenReply(tq.AuthenStatusGetPass, "Password: ", true))
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tacacs-test-server CONFIG.json")
		os.Exit(2)
	}
	raw, err := os.ReadFile(os.Args[1])
	if err != nil {
		log.Fatal(err)
	}
	var cfg Config
	if err := json.Unmarshal(raw, &cfg); err != nil {
		log.Fatalf("config: %v", err)
	}
	if cfg.Listen == "" {
		cfg.Listen = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		log.Fatal(err)
	}
	// Exit at once on SIGTERM: tacquito's Serve only notices cancellation after its 10 s accept
	// deadline, and a test peer holds no state worth a graceful stop.
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, os.Interrupt, syscall.SIGTERM)
	go func() {
		<-stop
		os.Exit(0)
	}()
	ctx := context.Background()
	srv := tq.NewServer(logger{debug: os.Getenv("TACACS_DEBUG") != ""}, secrets{secret: []byte(cfg.Secret), handler: &server{cfg: cfg}})
	fmt.Printf("listening %s\n", ln.Addr().String())
	if err := srv.Serve(ctx, ln.(*net.TCPListener)); err != nil {
		log.Fatal(err)
	}
}
