package runtimeconfig

import "testing"

func TestFrameworkLogLevel(t *testing.T) {
	tests := []struct {
		name   string
		env    map[string]string
		want   string
		change bool
	}{
		{"no logging asked for", nil, "off", true},
		{"TF_LOG trace keeps framework logs", map[string]string{"TF_LOG": "TRACE"}, "", false},
		{"TF_LOG json is trace", map[string]string{"TF_LOG": "json"}, "", false},
		{"TF_LOG debug drops framework trace lines", map[string]string{"TF_LOG": "DEBUG"}, "debug", true},
		{"TF_LOG_PROVIDER wins over TF_LOG", map[string]string{"TF_LOG": "ERROR", "TF_LOG_PROVIDER": "trace"}, "", false},
		{"TF_LOG_PROVIDER info", map[string]string{"TF_LOG": "TRACE", "TF_LOG_PROVIDER": "Info"}, "info", true},
		{"explicit TF_LOG_SDK_FRAMEWORK is kept", map[string]string{"TF_LOG_SDK_FRAMEWORK": "trace"}, "", false},
		{"unknown level (Terraform uses trace)", map[string]string{"TF_LOG": "verbose"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, change := FrameworkLogLevel(func(k string) string { return tt.env[k] })
			if got != tt.want || change != tt.change {
				t.Fatalf("frameworkLogLevel = %q, %v; want %q, %v", got, change, tt.want, tt.change)
			}
		})
	}
}
