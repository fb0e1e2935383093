import { utils } from 'ssh2';

/**
 * An ed25519 key pair that ssh2 can read back. ssh2's generateKeyPairSync drops a leading zero byte
 * of the public key about once in 200 keys ("Malformed OpenSSH public key"), which made tests flaky.
 */
export function ed25519KeyPair(): { private: string; public: string } {
  for (;;) {
    const pair = utils.generateKeyPairSync('ed25519');
    if (!(utils.parseKey(pair.public) instanceof Error) && !(utils.parseKey(pair.private) instanceof Error))
      return pair;
  }
}
