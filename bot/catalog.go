package bot

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"golang.org/x/text/language"
	"gopkg.in/yaml.v3"
)

// Lang codes as stored on customers.
const (
	LangEN = "en"
	LangZH = "zh"
)

//go:embed locales/*.yaml
var engineLocales embed.FS

// EngineLocales are the engine's own texts (too long, flood, errors).
func EngineLocales() fs.FS { return engineLocales }

// Catalog holds every customer-facing text in English and Simplified
// Chinese. Files are YAML maps from message id to text (go-i18n format,
// templates like {{.Ref}}), named en.yaml and zh.yaml.
type Catalog struct {
	bundle  *i18n.Bundle
	loc     map[string]*i18n.Localizer
	matcher language.Matcher
	ids     map[string]map[string]bool // lang → ids
}

// NewCatalog loads the locales/*.yaml files of each fs.
func NewCatalog(fss ...fs.FS) (*Catalog, error) {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	c := &Catalog{bundle: b, loc: map[string]*i18n.Localizer{}, matcher: language.NewMatcher([]language.Tag{language.English, language.SimplifiedChinese}), ids: map[string]map[string]bool{}}
	for _, fsys := range append([]fs.FS{engineLocales}, fss...) {
		files, err := fs.Glob(fsys, "locales/*.yaml")
		if err != nil {
			return nil, fmt.Errorf("catalog: %w", err)
		}
		for _, f := range files {
			data, err := fs.ReadFile(fsys, f)
			if err != nil {
				return nil, fmt.Errorf("catalog: %w", err)
			}
			lang := strings.TrimSuffix(path.Base(f), ".yaml")
			tag := language.English
			if lang == LangZH {
				tag = language.SimplifiedChinese
			} else if lang != LangEN {
				return nil, fmt.Errorf("catalog: %s: unknown language %q", f, lang)
			}
			// go-i18n picks the language from the file name; give it a tag it knows.
			mf, err := b.ParseMessageFileBytes(data, tag.String()+".yaml")
			if err != nil {
				return nil, fmt.Errorf("catalog: %s: %w", f, err)
			}
			if c.ids[lang] == nil {
				c.ids[lang] = map[string]bool{}
			}
			for _, m := range mf.Messages {
				c.ids[lang][m.ID] = true
			}
		}
	}
	c.loc[LangEN] = i18n.NewLocalizer(b, language.English.String())
	c.loc[LangZH] = i18n.NewLocalizer(b, language.SimplifiedChinese.String(), language.English.String())
	return c, nil
}

// T returns the text id in lang, filled with data. A missing id returns the
// id itself (and TestCatalogComplete keeps that from shipping).
func (c *Catalog) T(lang, id string, data map[string]any) string {
	l, ok := c.loc[lang]
	if !ok {
		l = c.loc[LangEN]
	}
	s, err := l.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
	if err != nil {
		return id
	}
	return s
}

// Match maps a platform locale ("zh-hans", "zh_TW", "en-US") to "en" or
// "zh"; "" when the locale says nothing.
func (c *Catalog) Match(locale string) string {
	locale = strings.ReplaceAll(strings.TrimSpace(locale), "_", "-")
	if i := strings.IndexByte(locale, '.'); i >= 0 { // "zh_CN.UTF-8"
		locale = locale[:i]
	}
	if locale == "" || locale == "C" || locale == "POSIX" {
		return ""
	}
	tag, err := language.Parse(locale)
	if err != nil {
		return ""
	}
	if base, _ := tag.Base(); base.String() == "zh" {
		return LangZH // Traditional Chinese readers read Simplified better than English
	}
	_, idx, conf := c.matcher.Match(tag)
	if conf == language.No {
		return LangEN
	}
	if idx == 1 {
		return LangZH
	}
	return LangEN
}

// Missing lists ids defined in one language but not in the other.
func (c *Catalog) Missing() []string {
	var out []string
	for _, a := range []string{LangEN, LangZH} {
		for id := range c.ids[a] {
			for _, b := range []string{LangEN, LangZH} {
				if !c.ids[b][id] {
					out = append(out, fmt.Sprintf("%s: missing in %s", id, b))
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

// Has reports whether id exists in lang.
func (c *Catalog) Has(lang, id string) bool { return c.ids[lang][id] }
