// Package sopstest encrypts YAML and dotenv files with SOPS and age, as
// `sops encrypt` does, for tests and the demo repository of `make run`.
package sopstest

import (
	"fmt"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	"github.com/getsops/sops/v3/keyservice"
	"github.com/getsops/sops/v3/stores/dotenv"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"
)

// EncryptYAML encrypts the values of the keys matching encryptedRegex (every
// value when empty) of a YAML document for one age recipient.
func EncryptYAML(plain []byte, recipient, encryptedRegex string) ([]byte, error) {
	return encrypt(sopsyaml.NewStore(&config.YAMLStoreConfig{}), plain, recipient, encryptedRegex)
}

// EncryptDotenv encrypts every value of a dotenv file for one age recipient.
func EncryptDotenv(plain []byte, recipient string) ([]byte, error) {
	return encrypt(dotenv.NewStore(&config.DotenvStoreConfig{}), plain, recipient, "")
}

func encrypt(store sops.Store, plain []byte, recipient, encryptedRegex string) ([]byte, error) {
	branches, err := store.LoadPlainFile(plain)
	if err != nil {
		return nil, err
	}
	mk, err := sopsage.MasterKeyFromRecipient(recipient)
	if err != nil {
		return nil, err
	}
	tree := sops.Tree{Branches: branches, Metadata: sops.Metadata{
		KeyGroups:      []sops.KeyGroup{[]keys.MasterKey{mk}},
		EncryptedRegex: encryptedRegex,
		Version:        version.Version,
	}}
	dataKey, errs := tree.GenerateDataKeyWithKeyServices([]keyservice.KeyServiceClient{keyservice.NewLocalClient()})
	if len(errs) > 0 {
		return nil, fmt.Errorf("generate data key: %v", errs)
	}
	cipher := aes.NewCipher()
	tree.Metadata.LastModified = time.Now().UTC()
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	tree.Metadata.MessageAuthenticationCode, err = cipher.Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, err
	}
	return store.EmitEncryptedFile(tree)
}
