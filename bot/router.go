package bot

import (
	"context"
	"sort"
	"strings"

	"github.com/kefu-bot/kefu/bot/nlu"
	"github.com/kefu-bot/kefu/models"
)

// Handler answers one turn. It changes state through c.Store() and queues
// replies with c.Reply; both commit with the turn.
type Handler interface {
	Handle(ctx context.Context, c *Context) error
}

// HandlerFunc adapts a plain function to Handler.
type HandlerFunc func(ctx context.Context, c *Context) error

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, c *Context) error { return f(ctx, c) }

// Middleware wraps a Handler (recover, logging, gating).
type Middleware func(Handler) Handler

// JobFunc does one piece of timed work from the scheduler.
type JobFunc func(ctx context.Context, j *Job) error

// CommandInfo describes a customer command, for adapters that register
// commands with the platform (Telegram setMyCommands, Discord slash
// commands). Help is a catalogue id.
type CommandInfo struct {
	Name string
	Help string
}

// Router maps a turn to its handler. The order is fixed: staff command,
// button, command, active flow, handoff relay, intent, fallback.
type Router struct {
	mw            []Middleware
	staffMW       []Middleware
	commands      map[string]Handler
	commandInfo   []CommandInfo
	staffCommands map[string]Handler
	buttons       map[string]Handler
	staffButtons  map[string]Handler
	flows         map[string]Handler
	intents       map[nlu.Intent]Handler
	jobs          map[string]JobFunc
	handoff       Handler
	staffText     Handler
	staffHelp     Handler
	fallback      Handler
}

// NewRouter returns an empty router.
func NewRouter() *Router {
	return &Router{
		commands: map[string]Handler{}, staffCommands: map[string]Handler{}, buttons: map[string]Handler{},
		staffButtons: map[string]Handler{}, flows: map[string]Handler{}, intents: map[nlu.Intent]Handler{}, jobs: map[string]JobFunc{},
	}
}

// Use adds middleware around every handler registered after it.
func (r *Router) Use(mw ...Middleware) { r.mw = append(r.mw, mw...) }

// UseStaff adds middleware around staff handlers only.
func (r *Router) UseStaff(mw ...Middleware) { r.staffMW = append(r.staffMW, mw...) }

func (r *Router) wrap(h Handler, extra []Middleware) Handler {
	for i := len(extra) - 1; i >= 0; i-- {
		h = extra[i](h)
	}
	for i := len(r.mw) - 1; i >= 0; i-- {
		h = r.mw[i](h)
	}
	return h
}

// Command registers a customer command ("/help" is Command("help", …)).
// help is the catalogue id of its one-line description.
func (r *Router) Command(name, help string, h HandlerFunc) {
	r.commands[name] = r.wrap(h, nil)
	r.commandInfo = append(r.commandInfo, CommandInfo{Name: name, Help: help})
}

// StaffCommand registers a command only staff may use.
func (r *Router) StaffCommand(name string, h HandlerFunc) {
	r.staffCommands[name] = r.wrap(h, r.staffMW)
}

// Button registers the handler for buttons whose data starts with
// prefix + ":"; the rest is c.Arg.
func (r *Router) Button(prefix string, h HandlerFunc) { r.buttons[prefix] = r.wrap(h, nil) }

// StaffButton routes a button pressed by staff in a staff room (a ticket
// card's claim, resolve, priority). Pressed anywhere else, or by anyone
// else, it does nothing: a customer cannot forge a staff action.
func (r *Router) StaffButton(prefix string, h HandlerFunc) {
	r.staffButtons[prefix] = r.wrap(h, r.staffMW)
}

// Flow registers the handler of a multi-step flow; it gets every turn while
// the conversation's flow has that name.
func (r *Router) Flow(name string, h HandlerFunc) { r.flows[name] = r.wrap(h, nil) }

// Intent registers the handler of an understood intent.
func (r *Router) Intent(i nlu.Intent, h HandlerFunc) { r.intents[i] = r.wrap(h, nil) }

// Handoff registers the handler for customer messages while a person
// handles the conversation.
func (r *Router) Handoff(h HandlerFunc) { r.handoff = r.wrap(h, nil) }

// StaffText registers the handler for staff messages that are not commands
// (replies to ticket cards, thread messages).
func (r *Router) StaffText(h HandlerFunc) { r.staffText = r.wrap(h, r.staffMW) }

// StaffHelp registers the answer to unknown commands in staff rooms.
func (r *Router) StaffHelp(h HandlerFunc) { r.staffHelp = r.wrap(h, r.staffMW) }

// Fallback registers the handler for everything else.
func (r *Router) Fallback(h HandlerFunc) { r.fallback = r.wrap(h, nil) }

// Job registers the function that runs scheduled jobs of a kind.
func (r *Router) Job(kind string, f JobFunc) { r.jobs[kind] = f }

// Commands lists the customer commands, for platform registration.
func (r *Router) Commands() []CommandInfo {
	out := append([]CommandInfo(nil), r.commandInfo...)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// IsStaffCommand reports whether name is a staff command.
func (r *Router) IsStaffCommand(name string) bool { _, ok := r.staffCommands[name]; return ok }

// route picks the handler for a turn; nil means store the message and say
// nothing (e.g. chatter in a staff room).
func (r *Router) route(c *Context) Handler {
	in := c.In
	if c.Command != "" {
		if h, ok := r.staffCommands[c.Command]; ok {
			if !in.Staff {
				return staffOnly
			}
			return h
		}
	}
	if c.Conv.Kind == models.KindStaff {
		// In a staff room only staff are served, and only by staff handlers.
		switch {
		case !in.Staff:
			return nil
		case c.Command != "":
			return r.staffHelp
		case in.Data != "":
			prefix, arg, _ := strings.Cut(in.Data, ":")
			c.Arg = arg
			if h, ok := r.staffButtons[prefix]; ok {
				return h
			}
			return r.buttons[prefix]
		default:
			return r.staffText
		}
	}
	if in.Data != "" {
		prefix, arg, _ := strings.Cut(in.Data, ":")
		c.Arg = arg
		if h, ok := r.buttons[prefix]; ok {
			return h
		}
		return r.fallback
	}
	if c.Command != "" {
		if h, ok := r.commands[c.Command]; ok {
			return h
		}
		return r.fallback
	}
	if c.Conv.Mode == models.ModeHandoff && r.handoff != nil {
		return r.handoff
	}
	if c.Conv.Flow != "" {
		if h, ok := r.flows[c.Conv.Flow]; ok {
			return h
		}
		c.EndFlow() // a flow that no longer exists (renamed in an upgrade)
	}
	if h, ok := r.intents[c.Intent.Intent]; ok {
		return h
	}
	return r.fallback
}

// staffOnly refuses staff commands from anyone else.
var staffOnly Handler = staffOnlyHandler{}

type staffOnlyHandler struct{}

func (staffOnlyHandler) Handle(context.Context, *Context) error {
	return &UserError{Key: "engine.staff_only"}
}
