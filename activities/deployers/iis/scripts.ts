/**
 * The PowerShell scripts the IIS deployer runs over SSH, how they are sent, and how their replies
 * are read. Facts: docs/vendors/iis.md.
 *
 * Transport (docs/vendors/iis.md): every script goes as `powershell.exe -NoProfile -NonInteractive -EncodedCommand
 * <base64 of UTF-16LE>`, whatever the server's DefaultShell (cmd.exe by default on Windows
 * OpenSSH). Nothing is interpolated into a command line: the only variable part of a script is one
 * JSON parameter line, `$p=ConvertFrom-Json -InputObject '…'`, written ASCII-only (every non-ASCII
 * character as \uXXXX) with `'` doubled, so no quoting question arises in cmd.exe or PowerShell.
 *
 * The PFX password of an import is in that parameter line, hence inside the encoded command (base64,
 * not encryption: anyone who can read the process's command line on the server can decode it). It
 * is random per upload, never stored, and the file it opens is deleted right after the import (the
 * script's `finally`, and the deployer over SFTP as well), so it protects nothing once the script
 * ends.
 *
 * Replies (read in ./replies.ts): each script prints ONE line of JSON (`ConvertTo-Json -Compress`) with
 * `[Console]::Out.WriteLine`; the last line of stdout that parses as a JSON object is the reply.
 * Errors are terminating (`$ErrorActionPreference='Stop'`): PowerShell then prints the error on
 * stderr (plain text, or CLIXML — `#< CLIXML` + `<Objs>` — as Ansible sees with -EncodedCommand
 * over SSH) and exits 1.
 *
 * Length: with cmd.exe as DefaultShell the whole command line must stay under 8191 characters
 * (cmd.exe's limit). Scripts are compacted (comments and indentation dropped, the `# certfleet:<op>`
 * marker kept) and the deployer splits long binding lists into several commands.
 *
 * GUESSED — no Windows machine was available, so none of these scripts has run in PowerShell. They
 * were checked only against the simulator in test/fakes/iis/, which recognises them and does in
 * TypeScript what they are meant to do. The binding change follows field-proven clients (remove the
 * binding and add a new one, never edit CertificateHash in place: docs/vendors/iis.md, sources at
 * the set-bindings script and in docs/vendors/iis.md). Least certain: what state a failed
 * CommitChanges() leaves (the script re-reads and puts the old binding back whatever it finds),
 * copying every other binding attribute with SetAttributeValue, a binding without a certificate
 * (hash ''), `Remove-Item -DeleteKey` on the certificate provider, the directory ACL calls, the
 * EphemeralKeySet fallback, `[Console]::OutputEncoding` in a session without a console, the SFTP path
 * form "/C:/…", and how much room cmd.exe needs below 8191 characters.
 */
export {
  cleanOutput,
  LOGON_SESSION,
  LOGON_SESSION_EXPLANATION,
  parseReply,
  readReply,
  scriptFailure,
  stderrText,
} from './replies';

export const SCRIPT_OPERATIONS = [
  'probe',
  'read-bindings',
  'stage-check',
  'import',
  'set-bindings',
  'remove-certificates',
] as const;
export type ScriptOperation = (typeof SCRIPT_OPERATIONS)[number];

/**
 * Our budget for one command: cmd.exe refuses command lines over 8191 characters ("The command line
 * is too long."), and Windows OpenSSH hands it the command wrapped (`cmd.exe /c …`): keep a margin.
 */
export const MAX_COMMAND_LENGTH = 8000;
export const POWERSHELL_PREFIX = 'powershell.exe -NoProfile -NonInteractive -EncodedCommand ';

export interface BindingRef {
  site: string;
  /** IIS binding information, "IP:port:hostHeader", e.g. "*:443:www.example.com". */
  bindingInformation: string;
}

/** What a binding should hold: the certificate (SHA-1 thumbprint, '' for none), its store, sslFlags. */
export interface BindingTarget extends BindingRef {
  hash: string;
  store: string;
  sslFlags: number;
}

export interface CertificateRef {
  store: string;
  thumbprint: string;
}

export interface ScriptParams {
  probe: { store: string; uploadDirectory: string };
  'read-bindings': { bindings: BindingRef[]; certificates: CertificateRef[] };
  'stage-check': { thumbprint: string; store: string; uploadDirectory: string };
  import: { path: string; password: string; store: string; thumbprint: string; friendlyName: string; chain: number };
  'set-bindings': { bindings: BindingTarget[] };
  'remove-certificates': { store: string; thumbprints: string[] };
}

// -----------------------------------------------------------------------------------------------
// Script text. Written readable here; compact() drops comments and indentation before sending.

const PROLOGUE = String.raw`
$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
try { [Console]::OutputEncoding = New-Object Text.UTF8Encoding $false } catch { }
function Out-Json($o) { [Console]::Out.WriteLine((ConvertTo-Json -InputObject $o -Compress -Depth 6)) }
`;

/** Microsoft.Web.Administration (what IISAdministration's Get-IISServerManager returns; Certify and win-acme use it in-process). */
const IIS_HELPERS = String.raw`
function Get-Sm { [void][Reflection.Assembly]::LoadFrom("$env:windir\System32\inetsrv\Microsoft.Web.Administration.dll"); New-Object Microsoft.Web.Administration.ServerManager }
# The https binding of a site with exactly this binding information (IP:port:host), or $null.
function Get-B($sm, $t) { $s = $sm.Sites[[string]$t.site]; if ($s) { foreach ($b in $s.Bindings) { if ($b.Protocol -eq 'https' -and $b.BindingInformation -eq $t.bindingInformation) { return $b } } }; $null }
function Hex($b) { if ($b.Length) { [BitConverter]::ToString($b).Replace('-', '') } else { '' } }
# sslFlags exists from IIS 8 on (1 = SNI); IIS 7.5 has no such attribute.
function Flags($b) { try { [int]$b.GetAttributeValue('sslFlags') } catch { 0 } }
function Store($b) { if ($b.CertificateStoreName) { [string]$b.CertificateStoreName } else { 'My' } }
`;

const CERT_HELPER = String.raw`
function Cert($st, $tp) {
  if ($tp) {
    $c = Get-Item -LiteralPath "Cert:\LocalMachine\$st\$tp" -ErrorAction SilentlyContinue
    if ($c) { @{ store = $st; thumbprint = $tp; present = $true; hasPrivateKey = $c.HasPrivateKey; subject = $c.Subject; notAfter = $c.NotAfter.ToString('yyyy-MM-dd') } }
    else { @{ store = $st; thumbprint = $tp; present = $false } }
  }
}
`;

const BODIES: Record<ScriptOperation, string> = {
  // Read-only facts for preflight: PowerShell, Windows build, IIS version (docs/vendors/iis.md), administrator?
  probe: String.raw`
$cv = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\Windows NT\CurrentVersion'
$iis = Get-ItemProperty 'HKLM:\SOFTWARE\Microsoft\InetStp' -ErrorAction SilentlyContinue
$id = [Security.Principal.WindowsIdentity]::GetCurrent()
$r = @{ psVersion = "$($PSVersionTable.PSVersion)"; os = $cv.ProductName; build = [int]$cv.CurrentBuildNumber; user = $id.Name; iis = $null
  isAdmin = (New-Object Security.Principal.WindowsPrincipal $id).IsInRole([Security.Principal.WindowsBuiltInRole]::Administrator)
  mwa = (Test-Path "$env:windir\System32\inetsrv\Microsoft.Web.Administration.dll"); store = (Test-Path "Cert:\LocalMachine\$($p.store)")
  uploadDirectory = (Test-Path -LiteralPath $p.uploadDirectory -PathType Container) }
if ($iis) { $r.iis = @{ major = $iis.MajorVersion; minor = $iis.MinorVersion } }
Out-Json $r
`,

  // Read-only: the current certificate of each binding, and the certificates asked about.
  'read-bindings': String.raw`
$sm = Get-Sm
try {
  $i = 0
  $l = @(foreach ($t in @($p.bindings)) {
    $b = Get-B $sm $t
    if ($b) { $h = Hex $b.CertificateHash; $st = Store $b; @{ i = $i; found = $true; hash = $h; store = $st; sslFlags = (Flags $b); certificate = (Cert $st $h) } }
    else { $s = $sm.Sites[[string]$t.site]; @{ i = $i; found = $false; siteFound = [bool]$s; available = @($s.Bindings | Where-Object { $_.Protocol -eq 'https' } | ForEach-Object { $_.BindingInformation }) } }
    $i++
  })
  $n = @($sm.Sites | Select-Object -First 50 | ForEach-Object { $_.Name })
} finally { $sm.Dispose() }
Out-Json @{ bindings = $l; sites = $n; certificates = @(foreach ($c in @($p.certificates)) { Cert $c.store $c.thumbprint }) }
`,

  // Is the version in the store already (with its key)? Creates the upload directory (SYSTEM,
  // Administrators and this user only) and removes PFX files left by interrupted runs.
  'stage-check': String.raw`
$c = Get-Item -LiteralPath "Cert:\LocalMachine\$($p.store)\$($p.thumbprint)" -ErrorAction SilentlyContinue
$d = $p.uploadDirectory
$made = $false
if (!(Test-Path -LiteralPath $d -PathType Container)) {
  [void](New-Item -ItemType Directory -Path $d -Force)
  $made = $true
  $acl = New-Object Security.AccessControl.DirectorySecurity
  $acl.SetAccessRuleProtection($true, $false)
  foreach ($sid in 'S-1-5-18', 'S-1-5-32-544', [Security.Principal.WindowsIdentity]::GetCurrent().User.Value) {
    $acl.AddAccessRule((New-Object Security.AccessControl.FileSystemAccessRule ([Security.Principal.SecurityIdentifier]$sid), 'FullControl', 'ContainerInherit,ObjectInherit', 'None', 'Allow'))
  }
  Set-Acl -LiteralPath $d -AclObject $acl
}
$old = @(Get-ChildItem -LiteralPath $d -Filter 'certfleet-*.pfx' | Where-Object { $_.LastWriteTimeUtc -lt [DateTime]::UtcNow.AddMinutes(-30) })
$old | Remove-Item -Force
Out-Json @{ present = [bool]$c; hasPrivateKey = [bool]$c.HasPrivateKey; directoryCreated = $made; staleRemoved = $old.Count }
`,

  // The Posh-ACME pattern (docs/vendors/iis.md): X509Certificate2 with MachineKeySet|PersistKeySet added through
  // X509Store, so the key lands in the machine key store where HTTP.sys can read it (not
  // Import-PfxCertificate, whose keys from a remote session can end up unusable).
  // Intermediates go to LocalMachine\CA. The uploaded file is deleted whatever happens.
  import: String.raw`
$r = $null
try {
  $s = New-Object Security.Cryptography.X509Certificates.X509Store -ArgumentList $p.store, 'LocalMachine'
  $s.Open('ReadWrite')
  try {
    $e = $s.Certificates.Find('FindByThumbprint', $p.thumbprint, $false) | Where-Object { $_.HasPrivateKey } | Select-Object -First 1
    if ($e) { $r = @{ thumbprint = $e.Thumbprint; imported = $false; hasPrivateKey = $true } }
    else {
      $c = New-Object Security.Cryptography.X509Certificates.X509Certificate2 -ArgumentList $p.path, $p.password, ([Security.Cryptography.X509Certificates.X509KeyStorageFlags]'MachineKeySet,PersistKeySet')
      if ($c.Thumbprint -ne $p.thumbprint -or !$c.HasPrivateKey) { throw "certfleet: the uploaded file holds $($c.Thumbprint) (key: $($c.HasPrivateKey)) instead of $($p.thumbprint) with its key" }
      $c.FriendlyName = $p.friendlyName
      $s.Add($c)
      $r = @{ thumbprint = $c.Thumbprint; imported = $true; hasPrivateKey = $true }
    }
  } finally { $s.Close() }
  $r.intermediatesAdded = 0
  if ($p.chain) {
    $col = New-Object Security.Cryptography.X509Certificates.X509Certificate2Collection
    # EphemeralKeySet (.NET 4.7.2+) keeps the leaf's key of this second read in memory; older .NET
    # refuses the name and gets a machine key set that Reset() below deletes again.
    try { $col.Import($p.path, $p.password, 'EphemeralKeySet') } catch { $col.Import($p.path, $p.password, 'MachineKeySet') }
    $ca = New-Object Security.Cryptography.X509Certificates.X509Store -ArgumentList 'CA', 'LocalMachine'
    $ca.Open('ReadWrite')
    try { foreach ($x in $col) { if (!$x.HasPrivateKey -and $x.Subject -ne $x.Issuer -and !$ca.Certificates.Find('FindByThumbprint', $x.Thumbprint, $false).Count) { $ca.Add($x); $r.intermediatesAdded++ } } }
    finally { $ca.Close(); foreach ($x in $col) { $x.Reset() } }
  }
} finally { Remove-Item -LiteralPath $p.path -Force -ErrorAction SilentlyContinue }
Out-Json $r
`,

  // Replaces each binding with a new one holding the new certificate: the binding is removed and
  // created again in one CommitChanges(), never edited in place. Setting Binding.CertificateHash on
  // an existing binding is what three field tools abandoned: win-acme (src/main.lib/Clients/IIS/
  // IISClient.cs UpdateBinding, "Replace instead of change binding because of #371": the in-place
  // edit failed with 0x80070520), Certify The Web (issue #308, PR #314; src/Certify.Core/Management/
  // Servers/ServerProviderIIS.cs AddOrUpdateSiteBinding: the in-place edit left the old certificate
  // served) and Posh-ACME.Deploy (Posh-ACME.Deploy/Public/Set-IISCertificate.ps1:
  // Remove-IISSiteBinding then New-IISSiteBinding). Like win-acme and Certify, the new element gets
  // every other attribute of the old one, and all its sslFlags bits (SNI, Central Certificate Store,
  // the IIS 10 Disable* flags): the deployer only ever adds the SNI bit.
  // When the commit fails, the same script puts the old binding back (Set-One on what it read, with
  // a fresh ServerManager: whatever sits at that binding information now is replaced by, or when
  // missing, given back the old hash, store, flags and attributes), so a binding is never left
  // missing. One binding per ServerManager and CommitChanges() (IISAdministration caches).
  // The script stops at the first failure; the reply says what changed, what failed and whether
  // the failed binding was put back ("putBack": "ok" or the error). The deployer then re-reads and
  // puts back the ones replaced before it (all or nothing; the script has no room for that under
  // cmd.exe's 8191 characters).
  'set-bindings': String.raw`
# Replaces binding $t (or, for a $t read back by this script, adds it when missing) and returns what
# was there, or $null when it already matches. $t.attrs marks a binding this script read: putting
# it back after a failed commit never triggers another put-back.
function Set-One($t) {
  $sm = Get-Sm
  try {
    $s = $sm.Sites[[string]$t.site]
    $b = Get-B $sm $t
    if (!$b -and !$t.attrs) { throw "site '$($t.site)' has no https binding $($t.bindingInformation)" }
    $r = @{ site = $t.site; bindingInformation = $t.bindingInformation; attrs = @{} }
    if ($b) {
      $r.hash = Hex $b.CertificateHash; $r.store = Store $b; $r.sslFlags = Flags $b
      if ($r.hash -eq $t.hash -and ($r.store -eq $t.store -or !$t.hash) -and $r.sslFlags -eq $t.sslFlags) { return }
    }
    $n = $s.Bindings.CreateElement('binding')
    $n.Protocol = 'https'
    $n.BindingInformation = $t.bindingInformation
    # Every other attribute is copied, as win-acme (its "handled" list) and Certify do.
    if ($b) { foreach ($x in $b.Attributes) { if ($null -ne $x.Value -and $x.Name -notmatch '^(protocol|bindingInformation|sslFlags|certificate.*)$') { $r.attrs[$x.Name] = $x.Value } } }
    $a = if ($b) { $r.attrs } else { $t.attrs }
    foreach ($k in $a.Keys) { $n.SetAttributeValue($k, $a[$k]) }
    if ($t.hash) { $n.CertificateHash = [byte[]]($t.hash -split '(..)' -ne '' | ForEach-Object { [Convert]::ToByte($_, 16) }); $n.CertificateStoreName = $t.store }
    if ($t.sslFlags) { $n.SetAttributeValue('sslFlags', [int]$t.sslFlags) }
    if ($b) { $s.Bindings.Remove($b) }
    [void]$s.Bindings.Add($n)
    try { $sm.CommitChanges() }
    catch { $e = $_; if ($b -and !$t.attrs) { $script:pb = 'ok'; try { [void](Set-One $r) } catch { $script:pb = "$($_.Exception.Message)" } }; throw $e }
    $r
  } finally { $sm.Dispose() }
}
$bs = @($p.bindings)
$done = @()
$fail = $null
for ($i = 0; $i -lt $bs.Count; $i++) {
  $script:pb = $null
  try { if (Set-One $bs[$i]) { $done += $i } }
  catch { $fail = @{ i = $i; error = $_.Exception.Message; putBack = $script:pb }; break }
}
Out-Json @{ ok = !$fail; changed = $done; failure = $fail }
`,

  // Deletes certificates (and their keys) that no https binding of any site uses, and only those
  // CertFleet imported (friendly name "CertFleet …").
  'remove-certificates': String.raw`
$used = @{}
$sm = Get-Sm
try { foreach ($s in $sm.Sites) { foreach ($b in $s.Bindings) { $h = Hex $b.CertificateHash; if ($b.Protocol -eq 'https' -and $h) { $used[$h] += ,"$($s.Name) $($b.BindingInformation)" } } } }
finally { $sm.Dispose() }
$out = @{ removed = @(); inUse = @(); missing = @(); foreign = @() }
foreach ($t in $p.thumbprints) {
  $path = "Cert:\LocalMachine\$($p.store)\$t"
  $c = Get-Item -LiteralPath $path -ErrorAction SilentlyContinue
  if (!$c) { $out.missing += $t }
  elseif ($used[$t]) { $out.inUse += @{ thumbprint = $t; bindings = $used[$t] } }
  elseif (!"$($c.FriendlyName)".StartsWith('CertFleet ')) { $out.foreign += $t }
  else { Remove-Item -LiteralPath $path -DeleteKey; $out.removed += $t }
}
Out-Json $out
`,
};

const USES_IIS: ReadonlySet<ScriptOperation> = new Set(['read-bindings', 'set-bindings', 'remove-certificates']);
const USES_CERT: ReadonlySet<ScriptOperation> = new Set(['read-bindings']);

// eslint-disable-next-line no-control-regex -- every character outside ASCII, NUL included
const NOT_ASCII = /[^\x00-\x7f]/g;

/** JSON that PowerShell reads back verbatim from a single-quoted string: ASCII only, `'` doubled. */
export function psJsonLiteral(value: unknown): string {
  const ascii = JSON.stringify(value).replace(
    NOT_ASCII,
    (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  return `'${ascii.replace(/'/g, "''")}'`;
}

/**
 * Drops blank lines, comment lines and indentation (keeps the `# certfleet:` marker), the spaces
 * around `{ } = ; , + |` and after `if`/`foreach`/`for`/`while`, which PowerShell does not need: the
 * command line has to stay under cmd.exe's limit. The scripts' string literals contain none of
 * those with a space next to it (a unit test checks that compaction leaves every literal as
 * written). The parameter line is not touched.
 */
export function compact(script: string): string {
  return script
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '' && (!line.startsWith('#') || line.startsWith('# certfleet:')))
    .map((line) =>
      line.startsWith('# certfleet:') || line.startsWith('$p=ConvertFrom-Json')
        ? line
        : line.replace(/ ?([{}=;,+|]) ?/g, '$1').replace(/\b(if|elseif|foreach|for|while) \(/g, '$1('),
    )
    .join('\n');
}

/** The script text of an operation without its parameter line (for tests). */
export const scriptTemplate = (operation: ScriptOperation): string =>
  [
    PROLOGUE,
    USES_IIS.has(operation) ? IIS_HELPERS : '',
    USES_CERT.has(operation) ? CERT_HELPER : '',
    BODIES[operation],
  ].join('\n');

/** The script for an operation, as it is sent (compacted). Its first line is `# certfleet:<op>`. */
export function buildScript<O extends ScriptOperation>(operation: O, params: ScriptParams[O]): string {
  return compact(
    [
      `# certfleet:${operation}`,
      PROLOGUE,
      `$p=ConvertFrom-Json -InputObject ${psJsonLiteral(params)}`,
      USES_IIS.has(operation) ? IIS_HELPERS : '',
      USES_CERT.has(operation) ? CERT_HELPER : '',
      BODIES[operation],
    ].join('\n'),
  );
}

/** `powershell.exe -NoProfile -NonInteractive -EncodedCommand <base64 of UTF-16LE>`. */
export function encodeCommand(script: string): string {
  return `${POWERSHELL_PREFIX}${Buffer.from(script, 'utf16le').toString('base64')}`;
}

/** The script inside a command built by encodeCommand, or undefined for any other command. */
export function decodeCommand(command: string): string | undefined {
  if (!command.startsWith(POWERSHELL_PREFIX)) return undefined;
  const b64 = command.slice(POWERSHELL_PREFIX.length);
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return undefined;
  return Buffer.from(b64, 'base64').toString('utf16le');
}
