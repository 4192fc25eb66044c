package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

const stateFileVersion = 1

// stateFile is the persisted tenant. It holds the credentials so a restarted emulator keeps its
// tenant (and the pingid.properties handed out earlier stays valid).
type stateFile struct {
	Version      int    `json:"version"`
	OrgAlias     string `json:"org_alias"`
	Token        string `json:"token"`
	Base64Key    string `json:"use_base64_key"`
	NextUserID   int64  `json:"next_user_id"`
	NextDeviceID int64  `json:"next_device_id"`
	// MaxAllowedDevices is the org setting; 0 (files written before it existed) keeps the default.
	MaxAllowedDevices int    `json:"max_allowed_devices,omitempty"`
	Users             []User `json:"users,omitempty"` // written by persist, one per line
}

// ReadStateCredentials returns the tenant stored in a state file, and false when the file does
// not exist. Runners use it to reuse a tenant across restarts.
func ReadStateCredentials(path string) (Options, bool, error) {
	st, err := readStateFile(path)
	if err != nil || st == nil {
		return Options{}, false, err
	}
	return Options{OrgAlias: st.OrgAlias, Token: st.Token, Base64Key: st.Base64Key, StatePath: path}, true, nil
}

func readStateFile(path string) (*stateFile, error) {
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read emulator state: %w", err)
	}
	var st stateFile
	if err := json.Unmarshal(data, &st); err != nil {
		return nil, fmt.Errorf("parse emulator state %s: %w", path, err)
	}
	if st.Version != stateFileVersion {
		return nil, fmt.Errorf("emulator state %s has version %d, want %d", path, st.Version, stateFileVersion)
	}
	return &st, nil
}

func (s *Server) loadState(st *stateFile) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st.NextUserID > s.nextUserID {
		s.nextUserID = st.NextUserID
	}
	if st.NextDeviceID > s.nextDeviceID {
		s.nextDeviceID = st.NextDeviceID
	}
	if n := st.MaxAllowedDevices; n != 0 {
		if n < 1 || n > MaxAllowedDevicesLimit {
			return fmt.Errorf("load emulator state: %w: max_allowed_devices %d is not 1-%d", ErrInvalidSetting, n, MaxAllowedDevicesLimit)
		}
		s.maxAllowedDevices = n
	}
	for _, u := range st.Users {
		u := u.clone()
		key := foldUserName(u.UserName)
		if _, dup := s.users[key]; dup {
			return fmt.Errorf("load emulator state: duplicate user %q", u.UserName)
		}
		if err := s.normalizeLocked(&u); err != nil {
			return fmt.Errorf("load emulator state: %w", err)
		}
		s.users[key] = &u
	}
	return nil
}

// changedLocked records a mutation of the users under keys; s.mu must be held.
func (s *Server) changedLocked(keys ...string) {
	s.generation++
	for _, k := range keys {
		delete(s.encoded, k)
	}
}

// persist writes the state file when it is behind the in-memory state. Callers mutate under
// s.mu, call changedLocked, release s.mu and then call persist, so the mutation is on disk before
// the caller answers. Concurrent callers coalesce: whoever writes second finds its generation
// already saved ("group commit"). Each user's JSON is cached until the user changes, so a save
// re-encodes only what changed; it still copies and writes the whole file (O(users) bytes).
func (s *Server) persist() error {
	if s.statePath == "" {
		return nil
	}
	s.saveMu.Lock()
	defer s.saveMu.Unlock()

	s.mu.Lock()
	if s.generation == s.savedGeneration {
		s.mu.Unlock()
		return nil
	}
	generation := s.generation
	header, err := json.Marshal(stateFile{
		Version:           stateFileVersion,
		OrgAlias:          s.orgAlias,
		Token:             s.token,
		Base64Key:         s.base64Key,
		NextUserID:        s.nextUserID,
		NextDeviceID:      s.nextDeviceID,
		MaxAllowedDevices: s.maxAllowedDevices,
	})
	if err != nil {
		s.mu.Unlock()
		return fmt.Errorf("encode emulator state: %w", err)
	}
	// Cached slices are never modified after creation, so they stay valid after unlocking.
	users := make([][]byte, 0, len(s.users))
	for key, u := range s.users {
		enc, ok := s.encoded[key]
		if !ok {
			if enc, err = json.Marshal(u); err != nil {
				s.mu.Unlock()
				return fmt.Errorf("encode emulator state: %w", err)
			}
			s.encoded[key] = enc
		}
		users = append(users, enc)
	}
	s.mu.Unlock()

	// {"version":…,"users":[\n<user>,\n<user>\n]}: one user per line keeps the file greppable.
	size := len(header) + 16
	for _, u := range users {
		size += len(u) + 2
	}
	buf := make([]byte, 0, size)
	buf = append(buf, header[:len(header)-1]...) // drop the closing brace
	buf = append(buf, `,"users":[`...)
	for i, u := range users {
		if i > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, '\n')
		buf = append(buf, u...)
	}
	buf = append(buf, "\n]}\n"...)

	if err := WriteFileAtomic(s.statePath, buf); err != nil {
		return err
	}
	s.savedGeneration = generation
	return nil
}

// persistOrLog is persist for callers that cannot return an error.
func (s *Server) persistOrLog() {
	if err := s.persist(); err != nil {
		s.logf("pingid emulator: %v", err)
	}
}

// WriteFileAtomic replaces path with data via a temporary file in the same directory and a
// rename, so readers (and a crashed emulator) never see a half-written file. No fsync: losing the
// last writes on power loss is acceptable for a test tenant, slowing every mutation is not.
// The file is private (0600, from CreateTemp): it holds secrets. cmd/pingid-emulator writes its
// properties file with it too, so a script polling for that file never reads it half-written.
func WriteFileAtomic(path string, data []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmpName := tmp.Name()
	cleanup := func() { _ = os.Remove(tmpName) }
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		cleanup()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		cleanup()
		return fmt.Errorf("close %s: %w", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		cleanup()
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return nil
}
