package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// browserPath finds a Chromium to drive. Without one the test skips, unless
// KEFU_REQUIRE_BROWSER is set (CI sets it, so CI never skips silently).
func browserPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("KEFU_REQUIRE_BROWSER") != "" {
		t.Fatal("no chromium found and KEFU_REQUIRE_BROWSER is set: apt-get install -y chromium")
	}
	t.Skip("browser test skipped: no chromium on PATH (apt-get install -y chromium; CI sets KEFU_REQUIRE_BROWSER=1)")
	return ""
}

var (
	chatURL     = regexp.MustCompile(`web chat \(customers\):\s+(\S+)`)
	inboxURL    = regexp.MustCompile(`staff inbox:\s+(\S+)`)
	demoLoginRe = regexp.MustCompile(`demo staff sign-in:\s+(\S+) / (\S+)`)
)

// page is one browser tab with helpers that wait the way a person would.
type tab struct {
	t    *testing.T
	ctx  context.Context
	name string
}

func (p tab) do(steps ...chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		p.t.Fatalf("%s: %v\npage text:\n%s", p.name, err, p.text())
	}
}

func (p tab) text() string {
	ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
	defer cancel()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
	if err != nil {
		return "(page text unreadable: " + err.Error() + ")"
	}
	return s
}

// waitText waits until the page's visible text contains s.
func (p tab) waitText(s string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if strings.Contains(p.text(), s) {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s: %q never appeared; page text:\n%s", p.name, s, p.text())
}

// waitJS waits until the expression is true in the page.
func (p tab) waitJS(expr string) {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(p.ctx, 5*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		cancel()
		if err == nil && ok {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("%s: %s never became true; page text:\n%s", p.name, expr, p.text())
}

// click presses the (last) button whose label is label. The inbox redraws
// parts of itself when events arrive, so a node found a moment ago may be
// gone: like a person, try again.
func (p tab) click(label string) {
	p.t.Helper()
	p.retry(chromedp.Click(fmt.Sprintf(`(//button[normalize-space()=%q and not(@disabled)])[last()]`, label)))
}

func (p tab) retry(a chromedp.Action[chromedp.Void]) {
	p.t.Helper()
	var err error
	for range 10 {
		ctx, cancel := context.WithTimeout(p.ctx, 10*time.Second)
		err = chromedp.Do(ctx, a)
		cancel()
		if err == nil {
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
	p.t.Fatalf("%s: %v\npage text:\n%s", p.name, err, p.text())
}

// say types into the chat and sends it with Enter.
func (p tab) say(text string) {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.CSS("#text"), text), chromedp.Click(chromedp.CSS("#composer button[type=submit]")))
}

func (p tab) screenshot(dir, name string) string {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 20*time.Second)
	defer cancel()
	b, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.t.Fatalf("%s: screenshot: %v", p.name, err)
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		p.t.Fatal(err)
	}
	return path
}

// TestBrowserChatAndInbox runs `kefu run` as a newcomer would (no tokens)
// and drives two real Chromium windows through the whole loop: a customer
// asks and complains in the web chat, staff sign in to the inbox, claim,
// reply, the customer sees the reply, staff resolve, the customer confirms
// and agrees to surveys; the verified order is on the staff's customer
// panel; a second request, resolved, brings the CSAT survey, whose score
// staff then see.
// Screenshots of both pages go to $KEFU_SCREENSHOTS (else a temp dir).
func TestBrowserChatAndInbox(t *testing.T) {
	chrome := browserPath(t)
	shots := os.Getenv("KEFU_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	errc := make(chan error, 1)
	e := testEnv(t)
	// CSAT a second after the resolution, and (almost) no quiet hours, so
	// its consent question comes while the test watches.
	e["KEFU_SURVEYS_CSAT_DELAY"] = "1s"
	e["KEFU_SURVEYS_QUIET_HOURS"] = "00:00-00:01"
	go func() {
		errc <- run(ctx, []string{"kefu", "run"}, env(e), strings.NewReader(""), &stdout, &stderr)
	}()
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("kefu run log:\n%s", stderr.String())
		}
	})
	waitForURL(t, &stdout)
	out := stdout.String()
	chat, inbox, login := chatURL.FindStringSubmatch(out), inboxURL.FindStringSubmatch(out), demoLoginRe.FindStringSubmatch(out)
	if chat == nil || inbox == nil || login == nil {
		t.Fatalf("kefu run did not print the chat, inbox and demo login:\n%s", out)
	}
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("kefu run: %v\n%s", err, stderr.String())
		}
	}()

	actx, acancel := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chrome), chromedp.NoSandbox, chromedp.WindowSize(1280, 860),
		chromedp.Flag("lang", "en-US"))...)
	defer acancel()
	bctx, bcancel := chromedp.NewContext(actx)
	defer bcancel()
	if err := chromedp.Do(bctx); err != nil { // start the browser
		t.Fatal(err)
	}
	// Customer and staff each get their own browser profile (cookies).
	cctx, ccancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	defer ccancel()
	sctx, scancel := chromedp.NewContext(bctx, chromedp.WithNewBrowserContext())
	defer scancel()
	// The first Run on a context makes its tab, which lives as long as the
	// context of that call: so no timeout on it.
	for _, c := range []context.Context{cctx, sctx} {
		if err := chromedp.Do(c); err != nil {
			t.Fatal(err)
		}
	}
	customer, staff := tab{t, cctx, "customer"}, tab{t, sctx, "staff"}

	// The customer opens the chat and asks about points.
	customer.do(chromedp.Navigate(chat[1]))
	customer.waitText("Show the menu")
	customer.say("how many points do I have?")
	customer.waitText("points")
	// An order question: the chat proves it owns the demo order with the
	// phone's last four digits, then sees the order.
	customer.say("where is my order 20261101001")
	customer.waitText("last 4 digits")
	customer.say("0142")
	customer.waitText("Order 20261101001: shipped")
	// Then complains; the complaint flow asks for the order and photos.
	customer.say("I want to complain, the parcel arrived broken!")
	customer.waitText("order number")
	customer.click("I don't have an order number")
	customer.waitText("Photos help")
	customer.click("Done")
	customer.waitText("is recorded as T-")
	ref := regexp.MustCompile(`T-\d{4,}`).FindString(customer.text())
	if ref == "" {
		t.Fatalf("no ticket reference in the chat:\n%s", customer.text())
	}
	// A reload keeps the conversation.
	customer.do(chromedp.Reload())
	customer.waitText("is recorded as " + ref)

	// Staff sign in with the printed demo account and find the ticket.
	staff.do(chromedp.Navigate(inbox[1]))
	staff.waitText("Staff sign-in")
	staff.do(chromedp.SendKeys(chromedp.CSS("#name"), login[1]), chromedp.SendKeys(chromedp.CSS("#password"), login[2]),
		chromedp.Click(chromedp.CSS("form button[type=submit]")))
	staff.waitText(ref)
	staff.retry(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.ticket-row[data-ref=%q]`, ref))))
	staff.waitText("parcel arrived broken")
	staff.click("Claim")
	staff.waitText("web:" + login[1])
	staff.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Sorry! A replacement ships today."))
	staff.click("Send reply")
	staff.waitText("Waiting on customer")

	// The customer sees the answer without reloading.
	customer.waitText("A replacement ships today.")
	// An internal note stays with staff.
	staff.do(chromedp.SendKeys(chromedp.CSS("#reply-text"), "Courier confirmed the damage by phone."))
	staff.click("Internal note")
	staff.waitText("Internal note (web:" + login[1] + "):")
	// The sent text leaves the box (a redraw must not bring it back).
	staff.waitJS(`document.querySelector('#reply-text').value === ''`)
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(customer.text(), "Courier confirmed") {
		t.Fatal("the customer sees an internal note")
	}
	customer.screenshot(shots, "chat.png")
	staff.screenshot(shots, "inbox.png")

	staff.click("Resolve")
	staff.waitText("Resolved")
	customer.waitText("resolved")
	customer.click("✅ Yes, solved")
	customer.waitText("is closed")
	// The CSAT survey is a proactive message: first the chat asks for
	// consent; the Yes releases the survey at once, and its score reaches
	// the customer panel.
	customer.waitText("May we message you now and then")
	customer.click("Yes, that's fine")
	customer.waitText("You can turn this off any time")
	customer.waitText("How satisfied are you with how we handled " + ref)
	customer.click("5 😍")
	customer.waitText("Anything you would like to add?")
	customer.click("Skip")
	customer.waitText("Thank you for your feedback!")
	staff.waitText("CSAT 5/5")
	// The verified order is on the customer panel.
	staff.waitText("20261101001")
	customer.screenshot(shots, "chat-end.png")
	staff.screenshot(shots, "inbox-end.png")

	// A new request reaches the open inbox without a reload.
	t1 := time.Now()
	before := customer.text()
	customer.say("I want to talk to a person")
	customer.waitText("T-")
	var next string
	deadline := time.Now().Add(30 * time.Second)
	for next == "" && time.Now().Before(deadline) {
		for _, r := range regexp.MustCompile(`T-\d{4,}`).FindAllString(customer.text(), -1) {
			if r != ref && !strings.Contains(before, r) {
				next = r
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("ticket %s confirmed to the customer after %s", next, time.Since(t1))
	if next == "" {
		t.Fatalf("no new ticket after asking for a person:\n%s", customer.text())
	}
	t0 := time.Now()
	staff.waitJS(fmt.Sprintf(`!!document.querySelector('#list a.ticket-row[data-ref=%q]')`, next))
	t.Logf("new ticket %s in the inbox list after %s", next, time.Since(t0))

	// Staff resolve it from the open inbox (no second survey within the
	// survey window).
	staff.retry(chromedp.Click(chromedp.CSS(fmt.Sprintf(`a.ticket-row[data-ref=%q]`, next))))
	staff.waitJS(fmt.Sprintf(`document.querySelector('.ticket-head .ref') && document.querySelector('.ticket-head .ref').textContent === %q`, next))
	staff.click("Resolve")
	customer.waitText("marked your request " + next + " as resolved")

	// The dashboard, from the inbox header: the answered CSAT is there, and
	// every chart loads as an image.
	staff.retry(chromedp.Click(`//header//a[normalize-space()="Dashboard"]`))
	staff.waitText("Points liability")
	staff.waitJS(`document.querySelector('#kpi-csat') && document.querySelector('#kpi-csat').textContent === '100%'`)
	staff.waitJS(`[...document.querySelectorAll('img.chart')].length >= 3 && [...document.querySelectorAll('img.chart')].every(i => i.complete && i.naturalWidth > 0)`)
	staff.screenshot(shots, "dashboard.png")
	t.Logf("screenshots in %s", shots)
}
